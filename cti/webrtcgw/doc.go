// Package webrtcgw is the media gateway between browsers and Asterisk: each call's browser end is a pion PeerConnection
// (ICE, DTLS-SRTP, G.711 µ-law only), and each PeerConnection is paired with one plain UDP socket that exchanges RTP with an ARI
// externalMedia channel (format=ulaw, encapsulation=rtp, transport=udp) placed in the call's bridge. There is no transcoding, no
// jitter buffer and no mixing: packets are forwarded one for one, as they arrive, so the browser's pacing is Asterisk's pacing.
//
// It owns the media legs and their goroutines, and the signalling vocabulary (Message) that the web caller's widget and the agent
// page speak over a websocket. It does not own calls, agents, authentication or rate limits: the engine decides what a leg is for,
// and the web layer (agent-ui) authenticates the websocket before handing it over. It may import cti, pion and gorilla/websocket,
// and no other adapter (deps_test.go); it is the only importer of pion.
//
// # A call's media
//
//	browser ──DTLS-SRTP (PCMU, PT 0)──► Leg.pc ──► rewrite SSRC/seq/ts ──► Leg.rtp (UDP on RTPHost) ──► Asterisk externalMedia
//	browser ◄──────────────────────────── track ◄──────────────── one for one ◄──────── Leg.rtp ◄──── Asterisk externalMedia
//
// The engine creates a Leg, answers the browser's offer with Leg.Answer, and passes Leg.LocalRTPAddr as external_host to
// Telephony.ExternalMedia; the address that call returns (UNICASTRTP_LOCAL_ADDRESS/PORT) goes to Leg.SetRemote. Without SetRemote
// the leg latches on the source of the first RTP packet it receives (symmetric RTP); after it, packets from any other source are
// dropped. Toward Asterisk the leg is one RTP stream (one SSRC, sequence and timestamp continuing across browser restarts and
// reconnects), so Asterisk's strict-RTP learning never sees a new source.
//
// # Media-verified Ready
//
// An agent's page proves its microphone and media path before Ready with a loop test: Leg.StartLoop points the leg's RTP socket at
// itself, so the browser's packets go browser → gateway → UDP → gateway → browser over exactly the path a call uses;
// Leg.StopLoop reports how many came back and the round-trip times. The same leg then stays up (an always-on agent leg, like a
// nailed-up softphone) and is bridged to each call by SetRemote, which makes ringing independent of ICE set-up time.
//
// # Lost media: the re-offer / reconnect rule
//
// A Leg reports its connection state (Event with Kind EventState) and media silence (EventMediaTimeout / EventMediaResumed, no RTP
// from one side for Config.MediaTimeout). The rule, for the engine and the pages:
//
//  1. disconnected: ICE may recover on its own. The page shows "reconnecting"; the engine shows it to the agent and the supervisor.
//     After Config.MediaTimeout without recovery the page sends a new offer with an ICE restart (RTCPeerConnection.restartIce) on
//     the same websocket; the engine passes it to Leg.Answer on the same Leg.
//  2. failed, or the signalling websocket itself was lost: the page reconnects the websocket (backoff, the same session or
//     token plus the leg's resume id) and sends a fresh offer; the engine passes it to Leg.Reconnect, which replaces the
//     PeerConnection and keeps the RTP socket, so the externalMedia channel and the bridge are untouched.
//  3. The other party is never left in silence: while an agent's leg is down, the engine plays music on hold (or a "please
//     hold, we are reconnecting" prompt) to the customer. After a reconnect window (30 s proposed) without recovery, a web
//     caller's call ends (reason "media lost"); an agent's call is requeued at the head of its queue and the agent is put
//     Not Ready with reason "media failure".
//
// A controller restart takes the legs with it, but not the PBX's externalMedia channels, which keep sending RTP to their
// external_host. A restarted controller gives the page that comes back a new Leg bound to that same address
// (LegOptions.RTPAddr), so the PBX's side of the call is untouched (docs/webrtc.md, "A controller restart").
package webrtcgw
