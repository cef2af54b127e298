package arisim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// hangupHow is who ended a channel, which decides ChannelHangupRequest's fields.
type hangupHow int

const (
	hangRemote hangupHow = iota // BYE from the far end: no cause field
	hangAPI                     // DELETE /channels/{id}: cause 32, soft true
	hangCancel                  // caller cancelled before answer: cause 127, tech_cause 487
	hangNone                    // no ChannelHangupRequest at all
)

// qosVars are the RTCP summary variables: their names, the names of their
// ...BRIDGED twins, and their values but the first's (qosSummary).
var qosVars = []struct{ name, bridged, value string }{
	{"RTPAUDIOQOS", "RTPAUDIOQOSBRIDGED", ""},
	{"RTPAUDIOQOSJITTER", "RTPAUDIOQOSJITTERBRIDGED", "minrxjitter=000.000000;maxrxjitter=000.001000;avgrxjitter=000.000474;stdevrxjitter=000.000205;mintxjitter=000.000000;maxtxjitter=000.000000;avgtxjitter=000.000000;stdevtxjitter=000.000000;"},
	{"RTPAUDIOQOSLOSS", "RTPAUDIOQOSLOSSBRIDGED", "  minrxlost=000.000000;  maxrxlost=000.000000;  avgrxlost=000.000000;  stdevrxlost=000.000000;  mintxlost=000.000000;  maxtxlost=000.000000;  avgtxlost=000.000000;  stdevtxlost=000.000000;"},
	{"RTPAUDIOQOSRTT", "RTPAUDIOQOSRTTBRIDGED", "     minrtt=000.000000;     maxrtt=000.000000;     avgrtt=000.000000;     stdevrtt=000.000000;"},
	{"RTPAUDIOQOSMES", "RTPAUDIOQOSMESBRIDGED", "   minrxmes=088.087887;   maxrxmes=088.087887;   avgrxmes=088.087887;   stdevrxmes=000.000000;   mintxmes=000.000000;   maxtxmes=000.000000;   avgtxmes=000.000000;   stdevtxmes=000.000000;"},
}

// qosSummary is RTPAUDIOQOS's value: random SSRCs and as many packets
// received and sent as 20 ms frames in the call.
func qosSummary(ssrc, themssrc uint32, frames int) string {
	b := make([]byte, 0, 160)
	b = strconv.AppendUint(append(b, "ssrc="...), uint64(ssrc), 10)
	b = strconv.AppendUint(append(b, ";themssrc="...), uint64(themssrc), 10)
	b = strconv.AppendInt(append(b, ";lp=0;rxjitter=0.000000;rxcount="...), int64(frames), 10)
	b = strconv.AppendInt(append(b, ";txjitter=0.000750;txcount="...), int64(frames), 10)
	return string(append(b, ";rlp=0;rtt=0.000000;rxmes=0.000000;txmes=88.087887"...))
}

// emitQoS sends the RTCP summary variables Asterisk sets on a PJSIP channel
// at hang-up. In a two-party simple_bridge (native bridging with another
// PJSIP channel) each is followed by its ...BRIDGED twin, as in
// h-snoop-supervisor; in a softmix bridge or alone there are no twins.
// The channel is destroyed under the same hold of the lock (hangup), so
// nothing can read them back: they are reported, not stored.
func (s *Server) emitQoS(c *channel) {
	frames := int(s.now().Sub(c.created) / (20 * time.Millisecond))
	bridged := false
	if b := c.bridge; b != nil && b.typ == "mixing" && b.technology() == "simple_bridge" {
		parts := b.participants()
		if len(parts) == 2 {
			for _, p := range parts {
				if p.ch != nil && p.ch != c && p.ch.tech == "PJSIP" {
					bridged = true
				}
			}
		}
	}
	for i, v := range qosVars {
		val := v.value
		if i == 0 {
			val = qosSummary(s.rng.Uint32(), s.rng.Uint32(), frames)
		}
		s.varsetEvent(c, v.name, val)
		if bridged {
			s.varsetEvent(c, v.bridged, val)
		}
	}
}

// newPJSIPChannel allocates a PJSIP channel towards or from ep.
func (s *Server) newPJSIPChannel(ep *endpoint, id string) *channel {
	if id == "" {
		id = s.nextUniqueID()
	} else {
		s.seq++
	}
	c := &channel{
		id:       id,
		name:     fmt.Sprintf("PJSIP/%s-%08x", ep.resource, s.pjsipSeq),
		state:    "Down",
		created:  s.now(),
		language: "en",
		vars:     map[string]string{},
		funcs:    map[string]string{},
		tech:     "PJSIP",
		endpoint: ep,
		peerVal:  map[string]string{},
	}
	s.pjsipSeq++
	s.channels[id] = c
	return c
}

// hangup ends c with Asterisk's event sequence and removes it.
func (s *Server) hangup(c *channel, how hangupHow, cause, techCause int) {
	if c.gone {
		return
	}
	if c.tech == "PJSIP" && c.answered {
		s.emitQoS(c)
	}
	switch how {
	case hangRemote:
		s.emitHangupRequest(c, nil)
	case hangAPI:
		s.emitHangupRequest(c, []kv{{"cause", 32}, {"soft", true}})
	case hangCancel:
		s.emitHangupRequest(c, []kv{{"cause", 127}, {"tech_cause", 487}})
	}
	s.stopChannelMedia(c)
	for _, sn := range append([]*channel(nil), c.snoops...) {
		s.hangup(sn, hangRemote, 16, 0)
	}
	if c.bridge != nil {
		s.leaveBridge(c)
	}
	if c.inStasis {
		c.inStasis = false
		s.chanEvent("StasisEnd", c)
		if c.kind == kindOriginated || c.kind == kindCreated || c.kind == kindExternal {
			s.varsetEvent(c, "STASISSTATUS", "SUCCESS") // destroyed below
			s.emitDestroyed(c, cause, techCause)
		}
	}
	s.destroy(c)
}

// destroy forgets c without events.
func (s *Server) destroy(c *channel) {
	c.gone = true
	for _, t := range c.timers {
		t.stopLocked(s)
	}
	c.dialTimer.stopLocked(s)
	if c.rtp != nil {
		c.rtp.stop()
		c.rtp = nil
	}
	if t := c.snoopOf; t != nil {
		t.snoops = removeChan(t.snoops, c)
		if t.bridge != nil && !t.gone {
			s.bridgeChanged(t.bridge, true)
		}
	}
	delete(s.channels, c.id)
}

func removeChan(list []*channel, c *channel) []*channel {
	out := list[:0]
	for _, x := range list {
		if x != c {
			out = append(out, x)
		}
	}
	return out
}

// identity is what a bridged peer sees on its connected line.
func identity(c *channel) party {
	if c == nil {
		return party{}
	}
	if c.caller.name != "" || c.caller.number != "" {
		return c.caller
	}
	if c.endpoint != nil && c.kind != kindInbound {
		return party{c.endpoint.b.CallerName, c.endpoint.b.CallerNumber}
	}
	return c.caller
}

// participant is a member of a bridge: a channel, or one of the unreal
// channels Asterisk pushes in for bridge MOH, playbacks and recordings.
type participant struct {
	name string
	ch   *channel
}

func (b *bridge) participants() []participant {
	out := make([]participant, 0, len(b.channels)+3) // one allocation: it is called on every change of a bridge
	for _, c := range b.channels {
		out = append(out, participant{c.name, c})
	}
	for _, n := range []string{b.mohName, b.announcerName, b.recorderName} {
		if n != "" {
			out = append(out, participant{name: n})
		}
	}
	return out
}

func (s *Server) unrealName(kind string) string {
	n := fmt.Sprintf("%s-%08x;2", kind, s.unrealSeq)
	s.unrealSeq++
	return n
}

// setPeerVar sets BRIDGEPEER/BRIDGEPVTCALLID on c with a ChannelVarset.
func (s *Server) setPeerVar(c *channel, name, value string) {
	c.peerVal[name] = value
	s.emitVarset(c, name, value)
}

// bridgeChanged recomputes what Asterisk derives from a mixing bridge's
// membership: BRIDGEPEER (sorted names of the other participants),
// BRIDGEPVTCALLID (the peer's call id in a two-party bridge) and, in a
// two-party bridge, the connected lines. force re-announces unchanged
// values, as Asterisk does when a snoop attaches to a bridged channel.
func (s *Server) bridgeChanged(b *bridge, force bool) {
	b.updateTechnology()
	b.updateMedia()
	if b.typ != "mixing" {
		return
	}
	parts := b.participants()
	if len(parts) < 2 {
		return
	}
	for _, c := range append([]*channel(nil), b.channels...) {
		var others []participant
		for _, p := range parts {
			if p.ch != c {
				others = append(others, p)
			}
		}
		names := make([]string, 0, len(others))
		for _, p := range others {
			names = append(names, p.name)
		}
		sort.Strings(names)
		peer := strings.Join(names, ",")
		pvt := ""
		if len(others) == 1 && others[0].ch != nil {
			pvt = others[0].ch.pvtCallID
		}
		if old, set := c.peerVal["BRIDGEPEER"]; force || !set || old != peer {
			s.setPeerVar(c, "BRIDGEPEER", peer)
		}
		old, set := c.peerVal["BRIDGEPVTCALLID"]
		if force && pvt != "" || set && old != pvt || !set && pvt != "" {
			s.setPeerVar(c, "BRIDGEPVTCALLID", pvt)
		}
	}
	if len(parts) == 2 && !force {
		for _, c := range append([]*channel(nil), b.channels...) {
			other := parts[0]
			if other.ch == c {
				other = parts[1]
			}
			if other.ch != nil && other.ch.inhibitCL {
				continue // inhibitConnectedLineUpdates on the peer's addChannel
			}
			if id := identity(other.ch); id != c.connected {
				c.connected = id
				s.chanEvent("ChannelConnectedLine", c)
			}
		}
	}
}

// joinBridge puts c into b with the events the transcripts show.
func (s *Server) joinBridge(c *channel, b *bridge) {
	if c.bridge == b {
		return
	}
	if c.bridge != nil {
		s.leaveBridge(c)
	}
	b.channels = append(b.channels, c)
	c.bridge = b
	b.updateTechnology()
	if len(b.channels) == 2 {
		for _, x := range b.channels {
			if x.kind == kindInbound && !x.counted {
				x.counted = true
				s.stats.CallsBridged++
			}
		}
	}
	s.emitBridgeEvent("ChannelEnteredBridge", b, c)
	s.bridgeChanged(b, false)
}

// leaveBridge takes c out of its bridge.
func (s *Server) leaveBridge(c *channel) {
	b := c.bridge
	if b == nil {
		return
	}
	b.channels = removeChan(b.channels, c)
	c.bridge = nil
	if c.peerVal["BRIDGEPEER"] != "" {
		s.setPeerVar(c, "BRIDGEPEER", "")
	}
	if c.peerVal["BRIDGEPVTCALLID"] != "" {
		s.setPeerVar(c, "BRIDGEPVTCALLID", "")
	}
	c.peerVal = map[string]string{}
	if c.rtp != nil {
		c.rtp.active.Store(false)
	}
	b.updateTechnology()
	b.updateMedia()
	s.emitBridgeEvent("ChannelLeftBridge", b, c)
	s.bridgeChanged(b, false)
}

// destroyBridge empties and removes b.
func (s *Server) destroyBridge(b *bridge) {
	for _, p := range append([]*playback(nil), b.playQueue...) {
		s.finishPlayback(p, "done")
	}
	for _, r := range s.recordingsOf(nil, b) {
		s.finishRecording(r, "done")
	}
	for _, c := range append([]*channel(nil), b.channels...) {
		s.leaveBridge(c)
	}
	b.mohName = ""
	s.publish(&event{typ: "BridgeDestroyed", fields: []kv{{"bridge", b.json()}}}, s.appsFor(nil, []*bridge{b}))
	delete(s.bridges, b.id)
}

// enterStasis puts an answered or created channel into app with args.
func (s *Server) enterStasis(c *channel, app string, args []string, withStatus bool) {
	c.app = app
	c.dp.appName = "Stasis"
	c.dp.appData = strings.Join(append([]string{app}, args...), ",")
	if withStatus {
		s.emitVarset(c, "STASISSTATUS", "")
	}
	c.inStasis = true
	s.emitStasisStart(c, args)
}

func splitArgs(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// ringOutbound runs the phone behind c's endpoint after an originate or a
// dial: ringing, then answer, busy or no answer. onAnswer runs on answer.
// timeout is the dial timeout (simulated); 0 means none.
func (s *Server) ringOutbound(c *channel, dialstring string, created bool, timeout time.Duration, onAnswer func()) {
	b := c.endpoint.b
	s.emitDial(c, "", dialstring)
	if b.Busy {
		s.emitHangupRequest(c, []kv{{"cause", 17}, {"tech_cause", 486}})
		s.emitDial(c, "BUSY", dialstring)
		if c.inStasis {
			c.inStasis = false
			s.chanEvent("StasisEnd", c)
			s.varsetEvent(c, "STASISSTATUS", "SUCCESS") // destroyed below
		}
		s.emitDestroyed(c, 17, 486)
		s.destroy(c)
		return
	}
	ringStatus := dialstring
	if created {
		ringStatus = ""
		s.emitDial(c, "RINGING", ringStatus)
		s.emitStateChange(c, "Ringing")
	} else {
		c.state = "Ringing"
		s.emitStateChange(c, "Ringing")
		s.emitDial(c, "RINGING", ringStatus)
	}
	if timeout > 0 {
		c.dialTimer = s.after(timeout, func() {
			if c.inStasis {
				s.hangup(c, hangAPI, 19, 480)
				return
			}
			s.emitDestroyed(c, 19, 480)
			s.destroy(c)
		})
	}
	// The phone picks up after AnswerAfter, or when a person answers it (Server.Answer) for NoAnswer endpoints.
	c.pickup = func() {
		c.pickup = nil
		c.dialTimer.stopLocked(s)
		c.answered = true
		s.emitStateChange(c, "Up")
		s.emitDial(c, "ANSWER", ringStatus)
		if onAnswer != nil {
			onAnswer()
		}
		if b.HangupAfter > 0 {
			c.addTimer(s.after(b.HangupAfter, func() { s.remoteHangup(c) }))
		}
	}
	if b.NoAnswer {
		return
	}
	answerAfter := b.AnswerAfter
	if answerAfter <= 0 {
		answerAfter = time.Second
	}
	c.addTimer(s.after(answerAfter, func() {
		if c.pickup != nil {
			c.pickup()
		}
	}))
}

// remoteHangup is the far end hanging up c.
func (s *Server) remoteHangup(c *channel) {
	switch {
	case c.gone:
	case c.kind == kindInbound && !c.answered:
		s.hangup(c, hangCancel, 127, 487)
	case (c.kind == kindOriginated || c.kind == kindCreated) && !c.answered:
		// The phone declined while ringing.
		if c.inStasis {
			s.hangup(c, hangRemote, 21, 603)
			return
		}
		s.emitDestroyed(c, 21, 603)
		s.destroy(c)
	default:
		s.hangup(c, hangRemote, 16, 0)
	}
}
