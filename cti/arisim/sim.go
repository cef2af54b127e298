package arisim

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNoApp is returned by Call when no websocket has registered the Stasis
// application: Asterisk then declines the call (603) and sends no event.
var ErrNoApp = errors.New("arisim: Stasis application not registered; call declined")

// ErrNoChannel is returned for an unknown channel id.
var ErrNoChannel = errors.New("arisim: no such channel")

// ErrNotRinging is returned by Answer for a channel that is not an outbound channel ringing.
var ErrNotRinging = errors.New("arisim: channel is not ringing")

// CallSpec describes a simulated inbound caller that reaches
// Stasis(app,args...) from the dialplan.
type CallSpec struct {
	CallerNumber, CallerName string
	Dialed                   string            // the extension dialled (default 5551000)
	Context                  string            // dialplan context (default from-carrier)
	App                      string            // Stasis app (default contact-center)
	Args                     []string          // Stasis args (default ["inbound"])
	Headers                  map[string]string // SIP headers readable with PJSIP_HEADER(read,Name)
	// DTMF the caller presses, each step relative to the answer or to the
	// start of a given playback.
	DTMF []Step
	// HangupAfter hangs up from the caller's side this long after the call
	// entered Stasis (0: never). Before answer that is a cancel (cause 127).
	HangupAfter time.Duration
}

// Step is one DTMF action of a caller script.
type Step struct {
	Digits string        // one or more digits, sent 250 ms apart
	After  time.Duration // delay after the answer, or after OnMedia started
	// OnMedia, if set, is a media URI (e.g. "sound:press-1-for-sales-2-for-support");
	// the step runs After the first time that media starts playing to the caller.
	OnMedia string
}

// Call places an inbound call and returns its channel id.
func (s *Server) Call(spec CallSpec) (string, error) {
	s.mu.Lock()
	defer s.unlock()
	if s.closed {
		return "", errors.New("arisim: server closed")
	}
	app := spec.App
	if app == "" {
		app = "contact-center"
	}
	reg := s.apps[app]
	if reg == nil || reg.conn == nil {
		s.stats.CallsRejected++
		return "", ErrNoApp
	}
	if spec.Dialed == "" {
		spec.Dialed = "5551000"
	}
	if spec.Context == "" {
		spec.Context = "from-carrier"
	}
	args := spec.Args
	if args == nil {
		args = []string{"inbound"}
	}
	c := s.newPJSIPChannel(s.endpoints["PJSIP/carrier"], "")
	c.kind = kindInbound
	c.state = "Ring"
	c.protocolID = fmt.Sprintf("1-%d@127.0.0.1", 10000+s.rng.IntN(90000))
	c.pvtCallID = c.protocolID
	c.caller = party{spec.CallerName, spec.CallerNumber}
	c.dp = dialplan{context: spec.Context, exten: spec.Dialed, priority: 2}
	for h, v := range spec.Headers {
		c.funcs["PJSIP_HEADER(read,"+strings.ToLower(h)+")"] = v
	}
	sp := spec
	c.script = &sp
	s.stats.CallsOffered++
	s.enterStasis(c, app, args, false)
	if spec.HangupAfter > 0 {
		c.addTimer(s.after(spec.HangupAfter, func() { s.remoteHangup(c) }))
	}
	return c.id, nil
}

// scriptOnAnswer starts the caller's DTMF steps that count from the answer.
func (s *Server) scriptOnAnswer(c *channel) {
	if c.script == nil {
		return
	}
	for _, st := range c.script.DTMF {
		if st.OnMedia == "" {
			s.scheduleDigits(c, st)
		}
	}
}

// scriptOnPlayback starts steps waiting for media to start playing.
func (s *Server) scriptOnPlayback(c *channel, media string) {
	if c.script == nil {
		return
	}
	for i, st := range c.script.DTMF {
		if st.OnMedia == media {
			s.scheduleDigits(c, st)
			c.script.DTMF[i].OnMedia = "\x00done"
		}
	}
}

func (s *Server) scheduleDigits(c *channel, st Step) {
	for i, d := range st.Digits {
		digit := string(d)
		c.addTimer(s.after(st.After+time.Duration(i)*250*time.Millisecond, func() { s.dtmf(c, digit) }))
	}
}

func (s *Server) dtmf(c *channel, digit string) {
	if c.gone || !c.inStasis {
		return
	}
	s.chanEvent("ChannelDtmfReceived", c, kv{"digit", digit}, kv{"duration_ms", 280})
}

// SendDTMF makes the far end of a channel press digits (250 ms apart).
func (s *Server) SendDTMF(channelID, digits string) error {
	s.mu.Lock()
	defer s.unlock()
	c := s.channels[channelID]
	if c == nil {
		return ErrNoChannel
	}
	s.scheduleDigits(c, Step{Digits: digits})
	return nil
}

// Answer picks up a ringing outbound channel from the far end, as a person answering the phone does: the way a demo agent's
// emulated phone answers when the agent accepts the offer in the browser. A channel that is not ringing is ErrNotRinging.
func (s *Server) Answer(channelID string) error {
	s.mu.Lock()
	defer s.unlock()
	c := s.channels[channelID]
	if c == nil || c.gone {
		return ErrNoChannel
	}
	if c.answered || c.pickup == nil {
		return ErrNotRinging
	}
	c.pickup()
	return nil
}

// Hangup hangs a channel up from the far end (caller or agent phone).
func (s *Server) Hangup(channelID string) error {
	s.mu.Lock()
	defer s.unlock()
	c := s.channels[channelID]
	if c == nil {
		return ErrNoChannel
	}
	s.remoteHangup(c)
	return nil
}

// SetEndpoint sets (or adds) the behaviour of a PJSIP endpoint, e.g.
// "PJSIP/1001". A change of registration sends EndpointStateChange,
// PeerStatusChange and ContactStatusChange to subscribed apps.
func (s *Server) SetEndpoint(id string, b Behaviour) error {
	tech, res, found := strings.Cut(id, "/")
	if !found || tech == "" || res == "" {
		return fmt.Errorf("arisim: bad endpoint %q", id)
	}
	s.mu.Lock()
	defer s.unlock()
	e := s.endpoints[id]
	if e == nil {
		e = &endpoint{tech: tech, resource: res}
		s.endpoints[id] = e
	}
	was := e.b.Registered
	e.b = b
	if was != b.Registered {
		s.publishEndpoint(e)
	}
	return nil
}

func (s *Server) publishEndpoint(e *endpoint) {
	var apps []string
	for _, a := range s.appNames {
		if reg := s.apps[a]; reg.subscribeAll || reg.endpoints[e.id()] || reg.endpoints[e.tech] {
			apps = append(apps, a)
		}
	}
	ej := s.endpointJSON(e)
	peer, contact := "Unreachable", "Removed"
	if e.b.Registered {
		peer, contact = "Reachable", "NonQualified"
	}
	now := s.now()
	s.publish(&event{typ: "EndpointStateChange", ts: now, fields: []kv{{"endpoint", ej}}}, apps)
	s.publish(&event{typ: "PeerStatusChange", ts: now, fields: []kv{{"endpoint", ej}, {"peer", obj{{"peer_status", peer}}}}}, apps)
	s.publish(&event{typ: "ContactStatusChange", ts: now, fields: []kv{{"endpoint", ej}, {"contact_info", obj{
		{"uri", fmt.Sprintf("sip:%s@127.0.0.1:5061", e.resource)}, {"contact_status", contact}, {"aor", e.resource}, {"roundtrip_usec", "0"}}}}}, apps)
}

// ChannelInfo is a read-only view of a channel for tests and the demo.
type ChannelInfo struct {
	ID, Name, State, App string
	InStasis             bool
	BridgeID             string
}

// Channels lists the live channels, sorted by id.
func (s *Server) Channels() []ChannelInfo {
	s.mu.Lock()
	defer s.unlock()
	var out []ChannelInfo
	for _, id := range sortedKeys(s.channels) {
		c := s.channels[id]
		ci := ChannelInfo{ID: c.id, Name: c.name, State: c.state, App: c.app, InStasis: c.inStasis}
		if c.bridge != nil {
			ci.BridgeID = c.bridge.id
		}
		out = append(out, ci)
	}
	return out
}

// RTPStats returns the RTP packets sent to and received from the external
// side of an externalMedia channel.
func (s *Server) RTPStats(channelID string) (sent, received int64, err error) {
	s.mu.Lock()
	defer s.unlock()
	c := s.channels[channelID]
	if c == nil || c.rtp == nil {
		return 0, 0, ErrNoChannel
	}
	return c.rtp.sent.Load(), c.rtp.recv.Load(), nil
}
