package cti

import (
	"context"
	"time"
)

// WebCall is a call placed from the "call us" widget on the company's web site. It has no PBX channel of its own: the engine
// creates an externalMedia channel toward the media gateway's leg (MediaAddr) and treats it as the customer's channel, so the
// call runs the same IVR and queues as a phone call, with Channel "webrtc" on its interaction.
type WebCall struct {
	// Caller is who calls: from the company's signed customer token, or what the visitor typed; empty for an anonymous caller.
	Caller Party
	// CustomerID is the CRM customer named by a verified customer token: the screen-pop is exact. Empty when anonymous.
	CustomerID string
	// Dialed picks the IVR flow as a dialled number does (the widget's site id); empty: the default flow.
	Dialed string
	// Attributes are the page URL and the widget's form fields; they reach the IVR as variables web.<name> and the screen-pop.
	Attributes map[string]string
	// MediaAddr is the gateway leg's RTP address, host:port: externalMedia's external_host.
	MediaAddr string
	// Page is the caller's page and media leg.
	Page WebCallPage
	// Resume is the page's resume id, a bearer secret: its SHA-256 (never the id) goes on the call's channel so that a
	// restarted controller can give the call back to the page that presents the id (ResumeWebCall). Empty: the call cannot
	// survive a restart.
	Resume string
}

// WebResume is what a restarted controller needs to give a web call back to its page: the call and both ends of its
// externalMedia channel's RTP.
type WebResume struct {
	CallID string
	// MediaAddr is the address the channel sends RTP to (its external_host, host:port): the new gateway leg binds it.
	MediaAddr string
	// PBXAddr is the channel's own RTP address (UNICASTRTP_LOCAL_ADDRESS:PORT); empty when the PBX did not say.
	PBXAddr string
}

// WebCallPage is one web caller's page and gateway leg, as the engine drives them. Its methods are called from the engine's
// goroutines and must not block: they queue a message for the page or set an address.
type WebCallPage interface {
	// Connect points the gateway leg at the PBX end of the call's externalMedia channel (host:port).
	Connect(pbxAddr string) error
	// Update tells the page where its call stands.
	Update(u WebCallUpdate)
}

// WebCallUpdate is a web call's state as the widget shows it.
type WebCallUpdate struct {
	State    string        // "ivr", "queued", "ringing", "connected", "held", "ended"
	Position int           // queued: 1 = next in line
	EWT      time.Duration // queued: estimated wait (0: unknown)
	Reason   string        // ended: "caller", "agent", "closed", "media_lost"
}

// WebCalls is what the web caller's signalling asks of the engine.
type WebCalls interface {
	// StartWebCall creates the call and its externalMedia channel and returns the interaction id. EUNAVAILABLE when the PBX is not
	// reachable.
	StartWebCall(ctx context.Context, c WebCall) (string, error)
	// WebDTMF feeds a digit pressed on the widget's keypad to the call, as a phone's DTMF.
	WebDTMF(callID, digit string)
	// EndWebCall: the web caller hung up or the page is gone for good.
	EndWebCall(callID string)
	// ResumeWebCall gives page a web call that a previous controller process started and this one adopted from the PBX,
	// found by the page's resume id; the call's state follows through page.Update. ENOTFOUND when no such call waits for its
	// page; EUNAVAILABLE while the calls are not yet known (the PBX not reconciled): try again shortly.
	ResumeWebCall(ctx context.Context, resume string, page WebCallPage) (WebResume, error)
}

// AgentMedia is what the engine asks of browser agents' standing media legs (agents whose endpoint is "webrtc").
type AgentMedia interface {
	// Addr returns the RTP address (host:port) of the agent's standing gateway leg; EPRECONDITION when the agent's page has no
	// verified leg.
	Addr(agentID string) (string, error)
	// Connect points the agent's leg at the PBX end of the agent's externalMedia channel.
	Connect(agentID, pbxAddr string) error
}

// EndpointWebRTC is the endpoint of agents who hear and speak in the agent desktop.
const EndpointWebRTC = "webrtc"
