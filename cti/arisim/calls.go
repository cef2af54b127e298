package arisim

import (
	"fmt"
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

var qosVars = []struct{ name, value string }{
	{"RTPAUDIOQOS", "ssrc=%d;themssrc=%d;lp=0;rxjitter=0.000000;rxcount=%d;txjitter=0.000750;txcount=%d;rlp=0;rtt=0.000000;rxmes=0.000000;txmes=88.087887"},
	{"RTPAUDIOQOSJITTER", "minrxjitter=000.000000;maxrxjitter=000.001000;avgrxjitter=000.000474;stdevrxjitter=000.000205;mintxjitter=000.000000;maxtxjitter=000.000000;avgtxjitter=000.000000;stdevtxjitter=000.000000;"},
	{"RTPAUDIOQOSLOSS", "  minrxlost=000.000000;  maxrxlost=000.000000;  avgrxlost=000.000000;  stdevrxlost=000.000000;  mintxlost=000.000000;  maxtxlost=000.000000;  avgtxlost=000.000000;  stdevtxlost=000.000000;"},
	{"RTPAUDIOQOSRTT", "     minrtt=000.000000;     maxrtt=000.000000;     avgrtt=000.000000;     stdevrtt=000.000000;"},
	{"RTPAUDIOQOSMES", "   minrxmes=088.087887;   maxrxmes=088.087887;   avgrxmes=088.087887;   stdevrxmes=000.000000;   mintxmes=000.000000;   maxtxmes=000.000000;   avgtxmes=000.000000;   stdevtxmes=000.000000;"},
}

func (s *Server) emitQoS(c *channel) {
	frames := int(s.now().Sub(c.created) / (20 * time.Millisecond))
	for i, v := range qosVars {
		val := v.value
		if i == 0 {
			val = fmt.Sprintf(v.value, s.rng.Uint32(), s.rng.Uint32(), frames, frames)
		}
		s.emitVarset(c, v.name, val)
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
		peerVars: map[string]bool{},
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
			s.emitVarset(c, "STASISSTATUS", "SUCCESS")
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
	if c.snoopOf != nil {
		c.snoopOf.snoops = removeChan(c.snoopOf.snoops, c)
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
	if c.caller.name != "" || c.caller.number != "" {
		return c.caller
	}
	if c.endpoint != nil && c.kind != kindInbound {
		return party{c.endpoint.b.CallerName, c.endpoint.b.CallerNumber}
	}
	return c.caller
}

func (s *Server) setPeerVar(c *channel, name, value string) {
	c.peerVars[name] = value != ""
	s.emitVarset(c, name, value)
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
	b.updateMedia()
	s.emitBridgeEvent("ChannelEnteredBridge", b, c)
	if b.typ != "mixing" {
		return
	}
	switch n := len(b.channels); {
	case n == 2:
		other := b.channels[0]
		s.setPeerVar(other, "BRIDGEPEER", c.name)
		if c.pvtCallID != "" {
			s.setPeerVar(other, "BRIDGEPVTCALLID", c.pvtCallID)
		}
		s.setPeerVar(c, "BRIDGEPEER", other.name)
		if other.pvtCallID != "" {
			s.setPeerVar(c, "BRIDGEPVTCALLID", other.pvtCallID)
		}
		if id := identity(c); id != other.connected && (id.name != "" || id.number != "") {
			other.connected = id
			s.chanEvent("ChannelConnectedLine", other)
		}
		if id := identity(other); id != c.connected && (id.name != "" || id.number != "") {
			c.connected = id
			s.chanEvent("ChannelConnectedLine", c)
		}
	case n > 2:
		for _, x := range b.channels {
			var names []string
			for _, y := range b.channels {
				if y != x {
					names = append(names, y.name)
				}
			}
			s.setPeerVar(x, "BRIDGEPEER", strings.Join(names, ","))
		}
	}
}

// leaveBridge takes c out of its bridge.
func (s *Server) leaveBridge(c *channel) {
	b := c.bridge
	if b == nil {
		return
	}
	b.channels = removeChan(b.channels, c)
	c.bridge = nil
	if c.peerVars["BRIDGEPEER"] {
		s.setPeerVar(c, "BRIDGEPEER", "")
	}
	if c.peerVars["BRIDGEPVTCALLID"] {
		s.setPeerVar(c, "BRIDGEPVTCALLID", "")
	}
	b.updateTechnology()
	b.updateMedia()
	if c.rtp != nil {
		c.rtp.active.Store(false)
	}
	s.emitBridgeEvent("ChannelLeftBridge", b, c)
}

// destroyBridge empties and removes b.
func (s *Server) destroyBridge(b *bridge) {
	for _, p := range append([]*playback(nil), b.playQueue...) {
		s.finishPlayback(p, "done")
	}
	if b.recording != nil {
		s.finishRecording(b.recording, "done")
	}
	for _, c := range append([]*channel(nil), b.channels...) {
		s.leaveBridge(c)
	}
	b.moh = false
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
			s.emitVarset(c, "STASISSTATUS", "SUCCESS")
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
	if b.NoAnswer {
		return
	}
	answerAfter := b.AnswerAfter
	if answerAfter <= 0 {
		answerAfter = time.Second
	}
	c.addTimer(s.after(answerAfter, func() {
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
