package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	agentui "github.com/switchboard-cc/switchboard/agent-ui"
	"github.com/switchboard-cc/switchboard/cti"
	"github.com/switchboard-cc/switchboard/cti/engine"
	"github.com/switchboard-cc/switchboard/cti/webrtcgw"
)

// WebRTCConfig is the media gateway's part of `switchboard serve`.
type WebRTCConfig struct {
	IPs      string // comma-separated local addresses for host candidates; empty: every non-loopback address
	UDPPorts string // "min-max" for host candidates; empty: any ephemeral port
	STUN     string // comma-separated stun:/turn: URLs, for the gateway and the pages
	Origins  string // comma-separated origins allowed to embed the call widget
	Secret   string // HMAC secret of customer tokens minted by the company's site
	// loopback includes loopback candidates: tests, and a demo whose web server listens on loopback only.
	loopback bool
	// callsPerMinute, when set, replaces the per-address limit of page tokens and web calls (the load command's simulated
	// browsers all come from one address).
	callsPerMinute float64
}

func (c *WebRTCConfig) bindFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.IPs, "webrtc-ips", c.IPs, "comma-separated local `addresses` the media gateway offers to browsers as ICE host candidates; empty: every address of every interface")
	fs.StringVar(&c.UDPPorts, "webrtc-udp-ports", c.UDPPorts, "`min-max` UDP port range of the media gateway's ICE candidates (open it in the firewall); empty: ephemeral ports")
	fs.StringVar(&c.STUN, "webrtc-stun", c.STUN, "comma-separated STUN/TURN `URLs` (stun:host:3478) for the gateway and the pages; empty: none")
	fs.StringVar(&c.Origins, "webcall-origins", c.Origins, "comma-separated `origins` (https://www.example.com) whose pages may embed the call widget")
	fs.StringVar(&c.Secret, "webcall-secret", c.Secret, "secret the company's site signs customer tokens with (HMAC-SHA256); empty: anonymous web callers only; never logged")
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// gateway checks the settings and turns them into the gateway's configuration.
func (c WebRTCConfig) gateway() (webrtcgw.Config, error) {
	cfg := webrtcgw.Config{AllowLoopback: c.loopback}
	for _, s := range splitList(c.IPs) {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return cfg, fmt.Errorf("invalid -webrtc-ips %q: not an IP address", s)
		}
		cfg.IPs = append(cfg.IPs, a)
		if a.IsLoopback() {
			cfg.AllowLoopback = true
		}
	}
	if c.UDPPorts != "" {
		lo, hi, ok := strings.Cut(c.UDPPorts, "-")
		min, err1 := strconv.ParseUint(lo, 10, 16)
		max, err2 := strconv.ParseUint(hi, 10, 16)
		if !ok || err1 != nil || err2 != nil || min == 0 || max < min {
			return cfg, fmt.Errorf("invalid -webrtc-udp-ports %q: want min-max, e.g. 40000-40999", c.UDPPorts)
		}
		cfg.UDPPortMin, cfg.UDPPortMax = uint16(min), uint16(max)
	}
	if urls := splitList(c.STUN); len(urls) > 0 {
		for _, u := range urls {
			if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
				return cfg, fmt.Errorf("invalid -webrtc-stun %q: want stun:host:port or turn:host:port", u)
			}
		}
		cfg.ICEServers = []webrtcgw.ICEServer{{URLs: urls}}
	}
	for _, o := range splitList(c.Origins) {
		if !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") || strings.Count(o, "/") != 2 {
			return cfg, fmt.Errorf("invalid -webcall-origins %q: want scheme://host[:port] without a path", o)
		}
	}
	return cfg, nil
}

// webCall is the widget's configuration for the web layer.
func (c WebRTCConfig) webCall() agentui.WebCallConfig {
	wc := agentui.WebCallConfig{Origins: splitList(c.Origins)}
	if c.callsPerMinute > 0 {
		wc.PerMinute, wc.Burst = c.callsPerMinute, int(c.callsPerMinute)
	}
	if c.Secret != "" {
		wc.CustomerSecret = []byte(c.Secret)
	}
	if urls := splitList(c.STUN); len(urls) > 0 {
		wc.ICEServers = []agentui.ICEServer{{URLs: urls}}
	}
	return wc
}

// loopbackHTTP reports whether the web server listens on loopback only: then only local browsers reach the pages, and
// loopback ICE candidates are what they need.
func loopbackHTTP(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	return host == "localhost" || err == nil && a.IsLoopback()
}

// webPhones joins the media gateway, the pages' signalling and the engine: it implements agentui.WebRTC (the websockets the
// web layer hands over) and cti.AgentMedia (browser agents' standing legs, for the engine).
type webPhones struct {
	gw     *webrtcgw.Gateway
	eng    *engine.Engine // set once the engine is built
	log    *slog.Logger
	sig    webrtcgw.SignalConfig
	window time.Duration // how long a web call survives a lost websocket (reconnect rule 2)

	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	agents  map[string]*agentPhone
	resumes map[resumeKey]*webSession // by the hash of the resume id: a lookup compares no secret
	wg      sync.WaitGroup
}

var (
	_ agentui.WebRTC = (*webPhones)(nil)
	_ cti.AgentMedia = (*webPhones)(nil)
)

func newWebPhones(gw *webrtcgw.Gateway, log *slog.Logger) *webPhones {
	ctx, cancel := context.WithCancel(context.Background())
	return &webPhones{gw: gw, log: log, window: engine.ReconnectWindow, ctx: ctx, cancel: cancel,
		agents: map[string]*agentPhone{}, resumes: map[resumeKey]*webSession{}}
}

// Close ends every page's signalling and every leg, and waits for them.
func (p *webPhones) Close() {
	// Cancel under the lock that later takes to add to the group, so no Add can race with Wait.
	p.mu.Lock()
	p.cancel()
	p.mu.Unlock()
	p.wg.Wait()
	_ = p.gw.Close()
}

// later runs f after d on a goroutine Close waits for (cancelled by Close).
func (p *webPhones) later(d time.Duration, f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx.Err() != nil {
		return // closing: nothing runs later
	}
	p.wg.Go(func() {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			f()
		case <-p.ctx.Done():
		}
	})
}

// sendTo adapts a Signaller for Leg.HandleSignal.
func sendTo(sig *webrtcgw.Signaller) func(webrtcgw.Message) {
	return func(m webrtcgw.Message) { sig.Send(m) }
}

// --- web callers ---

// resumeKey is the SHA-256 of a resume id. The id is a bearer secret: sessions are found by its hash, so the map's key
// comparison reveals nothing about ids (the engine keeps only the hash too).
type resumeKey [sha256.Size]byte

func keyOf(resume string) resumeKey { return sha256.Sum256([]byte(resume)) }

// webSession is one web caller: the gateway leg, the page's current signaller and the call. It implements cti.WebCallPage.
type webSession struct {
	p      *webPhones
	leg    *webrtcgw.Leg
	resume string

	mu     sync.Mutex
	sig    *webrtcgw.Signaller // nil while the page is away
	callID string
	last   webrtcgw.Message // the latest state, re-sent to a page that comes back
	ended  bool
}

func (w *webSession) send(m webrtcgw.Message) {
	w.mu.Lock()
	sig := w.sig
	w.mu.Unlock()
	if sig != nil {
		sig.Send(m)
	}
}

// Connect implements cti.WebCallPage.
func (w *webSession) Connect(pbxAddr string) error { return w.leg.SetRemote(pbxAddr) }

// Update implements cti.WebCallPage: the page hears of its call; an ended call closes the leg.
func (w *webSession) Update(u cti.WebCallUpdate) {
	m := webrtcgw.Message{Type: webrtcgw.MsgState, State: u.State, Position: u.Position, EWT: int(u.EWT / time.Second),
		Reason: u.Reason, Resume: w.resume}
	w.mu.Lock()
	w.last = m
	first := !w.ended
	if u.State == webrtcgw.StateEnded {
		w.ended = true
	}
	w.mu.Unlock()
	w.send(m)
	if u.State == webrtcgw.StateEnded && first {
		w.send(webrtcgw.Message{Type: webrtcgw.MsgHangup, Reason: u.Reason})
		// The page closes on "ended"; a page that does not is closed after a moment, and the leg with it.
		w.p.later(2*time.Second, w.close)
	}
}

func (w *webSession) close() {
	w.mu.Lock()
	sig, leg := w.sig, w.leg
	w.sig = nil
	w.mu.Unlock()
	if sig != nil {
		sig.Close()
	}
	w.p.mu.Lock()
	if k := keyOf(w.resume); w.p.resumes[k] == w {
		delete(w.p.resumes, k)
	}
	w.p.mu.Unlock()
	if leg != nil { // nil while an adopted call's leg is being made (adoptCall closes it then)
		_ = leg.Close()
	}
}

// ServeCall implements agentui.WebRTC: the first message must be the page's offer (a new call, or a resume of a call whose
// websocket was lost); then keypad digits, candidates, ICE restarts and the hang-up.
func (p *webPhones) ServeCall(ws *websocket.Conn, c agentui.WebCaller) {
	sig := webrtcgw.NewSignaller(ws, p.sig)
	var w *webSession
	hungUp := false
	_ = sig.Run(p.ctx, func(m webrtcgw.Message) {
		ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
		defer cancel()
		if w == nil {
			if m.Type != webrtcgw.MsgOffer {
				sig.Send(webrtcgw.ErrorMessage(cti.Errorf(cti.ECONFLICT, "send the offer first")))
				return
			}
			if m.Resume != "" {
				var old *webrtcgw.Signaller
				w, old = p.resumeCall(m.Resume, sig)
				if old != nil {
					old.Close() // the page's previous websocket, if it is still open
				}
				if w == nil {
					// Not a call of this process: perhaps one a previous process started, adopted from the PBX.
					var err error
					if w, err = p.adoptCall(ctx, m.Resume, sig); err != nil {
						if cti.ErrorCode(err) != cti.ENOTFOUND {
							p.log.Warn("web caller's page could not take its call back after the restart", "err", err)
						}
						w = nil
					}
				}
				if w == nil {
					sig.Send(webrtcgw.Message{Type: webrtcgw.MsgHangup, Reason: webrtcgw.ReasonMediaLost})
					sig.Close()
					return
				}
				if _, err := w.leg.HandleSignal(ctx, m, sendTo(sig)); err == nil {
					w.mu.Lock()
					last := w.last
					w.mu.Unlock()
					sig.Send(last)
				}
				return
			}
			var err error
			if w, err = p.startCall(ctx, c, sig, m); err != nil {
				sig.Send(webrtcgw.ErrorMessage(err))
				reason := webrtcgw.ReasonClosed
				if cti.ErrorCode(err) == cti.EINVALID {
					reason = webrtcgw.ReasonRejected
				}
				sig.Send(webrtcgw.Message{Type: webrtcgw.MsgHangup, Reason: reason})
				w = nil
			}
			return
		}
		if handled, _ := w.leg.HandleSignal(ctx, m, sendTo(sig)); handled {
			return
		}
		switch m.Type {
		case webrtcgw.MsgDTMF:
			p.eng.WebDTMF(w.callID, m.Digit)
		case webrtcgw.MsgHangup:
			hungUp = true
			p.eng.EndWebCall(w.callID)
			sig.Close()
		}
	})
	if w == nil {
		return
	}
	w.mu.Lock()
	if w.sig == sig {
		w.sig = nil
	}
	ended, away := w.ended, w.sig == nil
	w.mu.Unlock()
	if hungUp || ended || !away {
		return
	}
	// The websocket was lost mid-call: the page may come back with its resume id (rule 2); otherwise the call ends.
	p.later(p.window, func() {
		w.mu.Lock()
		gone := w.sig == nil && !w.ended
		w.mu.Unlock()
		if gone {
			p.log.Info("web caller's page did not come back", "call", w.callID)
			p.eng.EndWebCall(w.callID)
		}
	})
}

// startCall answers the page's first offer on a new leg and starts the call in the engine.
func (p *webPhones) startCall(ctx context.Context, c agentui.WebCaller, sig *webrtcgw.Signaller, offer webrtcgw.Message) (*webSession, error) {
	w := &webSession{p: p, sig: sig, resume: randomToken()}
	// The leg's id shows in logs: it must not be derived from the resume id, a bearer secret.
	leg, err := newLegAvoiding(p.gw, webrtcgw.LegOptions{ID: "web-" + randomToken()[:12],
		OnEvent: func(ev webrtcgw.Event) { p.webLegEvent(w, ev) }}, p.eng.WebMediaReserved)
	if err != nil {
		return nil, err
	}
	w.leg = leg
	if _, err := leg.HandleSignal(ctx, offer, sendTo(sig)); err != nil {
		_ = leg.Close()
		return nil, err
	}
	attrs := c.Attributes
	if attrs == nil {
		attrs = map[string]string{}
	}
	if c.Origin != "" {
		attrs["origin"] = c.Origin
	}
	caller := cti.Party{Name: c.Name, Number: c.Number}
	if caller.Name == "" && caller.Number == "" {
		caller.Name = "Web caller"
	}
	p.mu.Lock()
	p.resumes[keyOf(w.resume)] = w
	p.mu.Unlock()
	id, err := p.eng.StartWebCall(ctx, cti.WebCall{Caller: caller, CustomerID: c.CustomerID, Dialed: c.Site, Attributes: attrs,
		MediaAddr: leg.LocalRTPAddr().String(), Page: w, Resume: w.resume})
	if err != nil {
		w.close()
		return nil, err
	}
	w.mu.Lock()
	w.callID = id
	w.mu.Unlock()
	return w, nil
}

// newLegAvoiding makes a leg whose RTP address is not reserved: after a restart the OS may hand a new leg the port an adopted
// call's externalMedia channel still sends to, which that call's page must bind when it comes back (and the new leg would
// hear the other call until pointed at its own channel). A leg on a reserved address is held while the next is made, so
// the OS does not offer the same port again, then closed.
func newLegAvoiding(gw *webrtcgw.Gateway, o webrtcgw.LegOptions, reserved func(addr string) bool) (*webrtcgw.Leg, error) {
	var held []*webrtcgw.Leg
	defer func() {
		for _, l := range held {
			_ = l.Close()
		}
	}()
	for range maxReservedTries {
		leg, err := gw.NewLeg(o)
		if err != nil || !reserved(leg.LocalRTPAddr().String()) {
			return leg, err
		}
		held = append(held, leg)
	}
	return nil, cti.Errorf(cti.EUNAVAILABLE, "no free RTP port: %d tries hit ports of calls adopted after a restart", maxReservedTries)
}

// maxReservedTries bounds newLegAvoiding; reserved ports are a few among thousands, so two tries are already rare.
const maxReservedTries = 8

// adoptCall gives a page that comes back with its resume id the call that a previous controller process started and this
// one adopted from the PBX (docs/webrtc.md, "A controller restart"). The new leg binds the address the call's externalMedia
// channel already sends to and is pointed at the channel's own, so the PBX's side is untouched; the page's offer is
// answered on it and the call's state follows. The engine is asked until it knows its calls, within ctx.
func (p *webPhones) adoptCall(ctx context.Context, resume string, sig *webrtcgw.Signaller) (*webSession, error) {
	w := &webSession{p: p, resume: resume}
	var r cti.WebResume
	for {
		var err error
		if r, err = p.eng.ResumeWebCall(ctx, resume, w); cti.ErrorCode(err) != cti.EUNAVAILABLE {
			if err != nil {
				return nil, err
			}
			break
		}
		select { // the engine is reconciling with the PBX after the start
		case <-ctx.Done():
			return nil, err
		case <-time.After(200 * time.Millisecond):
		}
	}
	leg, err := p.newAdoptedLeg(w, r)
	if err != nil {
		p.eng.DropWebCall(r.CallID) // the page cannot be given the call's media: end it rather than leave it silent
		return nil, err
	}
	w.mu.Lock()
	w.leg, w.callID, w.sig = leg, r.CallID, sig
	ended := w.ended
	w.mu.Unlock()
	if ended { // the call ended while the leg was made
		_ = leg.Close()
		return nil, cti.Errorf(cti.ENOTFOUND, "the call ended")
	}
	p.mu.Lock()
	p.resumes[keyOf(resume)] = w
	p.mu.Unlock()
	return w, nil
}

// newAdoptedLeg makes the gateway leg of an adopted web call on the address its externalMedia channel sends to.
func (p *webPhones) newAdoptedLeg(w *webSession, r cti.WebResume) (*webrtcgw.Leg, error) {
	media, err := netip.ParseAddrPort(r.MediaAddr)
	if err != nil {
		return nil, cti.Invalid("media", "the call's RTP address %q: %v", r.MediaAddr, err)
	}
	leg, err := p.gw.NewLeg(webrtcgw.LegOptions{ID: "web-" + r.CallID, RTPAddr: media,
		OnEvent: func(ev webrtcgw.Event) { p.webLegEvent(w, ev) }})
	if err != nil {
		return nil, err
	}
	// Without the channel's own address the leg latches on the first packet the PBX sends it (symmetric RTP).
	if r.PBXAddr != "" {
		if err := leg.SetRemote(r.PBXAddr); err != nil {
			_ = leg.Close()
			return nil, err
		}
	}
	return leg, nil
}

// resumeCall hands a web call whose websocket was lost to the page's new websocket.
// The page's previous websocket, if still open, is returned for the caller to close.
func (p *webPhones) resumeCall(id string, sig *webrtcgw.Signaller) (*webSession, *webrtcgw.Signaller) {
	p.mu.Lock()
	w := p.resumes[keyOf(id)]
	p.mu.Unlock()
	if w == nil {
		return nil, nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended {
		return nil, nil
	}
	old := w.sig
	w.sig = sig
	return w, old
}

// webLegStats sums the traffic of the web callers' legs (the load command's breakdown of where packets went).
func (p *webPhones) webLegStats() (sum webrtcgw.Stats) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, w := range p.resumes {
		s := w.leg.Stats()
		sum.FromBrowser.Packets += s.FromBrowser.Packets
		sum.FromBrowser.Lost += s.FromBrowser.Lost
		sum.FromPBX.Packets += s.FromPBX.Packets
		sum.FromPBX.Lost += s.FromPBX.Lost
		sum.ToPBX += s.ToPBX
		sum.ToBrowser += s.ToBrowser
	}
	return sum
}

// webLegEvent applies the reconnect rule to a web caller's leg: a failed connection that does not recover within the window
// ends the call ("media lost").
func (p *webPhones) webLegEvent(w *webSession, ev webrtcgw.Event) {
	if ev.Kind != webrtcgw.EventState || ev.State != webrtcgw.StateFailed {
		return
	}
	w.send(webrtcgw.Message{Type: webrtcgw.MsgState, State: webrtcgw.StateReconnecting, Resume: w.resume})
	p.later(p.window, func() {
		if w.leg.State() != webrtcgw.StateConnected {
			w.mu.Lock()
			id := w.callID
			w.mu.Unlock()
			p.log.Info("web caller's media did not come back", "call", id)
			p.eng.EndWebCall(id)
		}
	})
}

// --- browser agents ---

// agentPhone is a browser agent's standing gateway leg and the page driving it.
type agentPhone struct {
	leg *webrtcgw.Leg

	mu     sync.Mutex
	sig    *webrtcgw.Signaller
	tested bool // a loop test passed on this leg
}

func (a *agentPhone) send(m webrtcgw.Message) {
	a.mu.Lock()
	sig := a.sig
	a.mu.Unlock()
	if sig != nil {
		sig.Send(m)
	}
}

// Addr implements cti.AgentMedia.
func (p *webPhones) Addr(agentID string) (string, error) {
	p.mu.Lock()
	a := p.agents[agentID]
	p.mu.Unlock()
	if a == nil {
		return "", cti.Errorf(cti.EPRECONDITION, "your browser phone is not connected: reload the desk")
	}
	a.mu.Lock()
	tested := a.tested
	a.mu.Unlock()
	if !tested {
		return "", cti.Errorf(cti.EPRECONDITION, "test your audio first")
	}
	return a.leg.LocalRTPAddr().String(), nil
}

// Connect implements cti.AgentMedia.
func (p *webPhones) Connect(agentID, pbxAddr string) error {
	p.mu.Lock()
	a := p.agents[agentID]
	p.mu.Unlock()
	if a == nil {
		return cti.Errorf(cti.EPRECONDITION, "the agent's browser phone is gone")
	}
	return a.leg.SetRemote(pbxAddr)
}

// ServeAgent implements agentui.WebRTC. The agent's leg outlives the page: a reloaded page's first offer reconnects it (rule 2),
// so a call in progress keeps its externalMedia channel.
func (p *webPhones) ServeAgent(ws *websocket.Conn, agentID string) {
	sig := webrtcgw.NewSignaller(ws, p.sig)
	p.mu.Lock()
	a := p.agents[agentID]
	p.mu.Unlock()
	first := true
	_ = sig.Run(p.ctx, func(m webrtcgw.Message) {
		ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
		defer cancel()
		if a == nil {
			if m.Type != webrtcgw.MsgOffer {
				sig.Send(webrtcgw.ErrorMessage(cti.Errorf(cti.ECONFLICT, "send the offer first")))
				return
			}
			var err error
			if a, err = p.newAgentPhone(agentID); err != nil {
				sig.Send(webrtcgw.ErrorMessage(err))
				return
			}
		}
		a.mu.Lock()
		a.sig = sig
		a.mu.Unlock()
		switch m.Type {
		case webrtcgw.MsgOffer:
			var answer string
			var err error
			if first && a.leg.State() != webrtcgw.StateNew {
				answer, err = a.leg.Reconnect(ctx, m.SDP) // a new page for a standing leg
			} else {
				answer, err = a.leg.Answer(ctx, m.SDP)
			}
			if err != nil {
				sig.Send(webrtcgw.ErrorMessage(err))
				return
			}
			first = false
			sig.Send(webrtcgw.Message{Type: webrtcgw.MsgAnswer, SDP: answer})
		case webrtcgw.MsgLoopStop:
			rep := a.leg.StopLoop().JSON()
			a.mu.Lock()
			a.tested = rep.OK
			a.mu.Unlock()
			sig.Send(webrtcgw.Message{Type: webrtcgw.MsgLoopResult, Loop: rep})
			reason := ""
			if !rep.OK {
				reason = fmt.Sprintf("only %d of %d audio packets came back", rep.Returned, rep.Sent)
			}
			p.eng.AgentMedia(agentID, rep.OK, reason)
		default:
			_, _ = a.leg.HandleSignal(ctx, m, sendTo(sig))
		}
	})
	if a == nil {
		return
	}
	a.mu.Lock()
	mine := a.sig == sig
	if mine {
		a.sig = nil
	}
	a.mu.Unlock()
	if !mine {
		return // a newer page took over
	}
	p.eng.AgentMedia(agentID, false, "the desk's phone is closed")
	// A reloaded page gets the window to take the leg over; then it closes.
	p.later(p.window, func() {
		a.mu.Lock()
		away := a.sig == nil
		a.mu.Unlock()
		if !away {
			return
		}
		p.mu.Lock()
		if p.agents[agentID] == a {
			delete(p.agents, agentID)
		}
		p.mu.Unlock()
		_ = a.leg.Close()
	})
}

func (p *webPhones) newAgentPhone(agentID string) (*agentPhone, error) {
	a := &agentPhone{}
	leg, err := p.gw.NewLeg(webrtcgw.LegOptions{ID: "agent-" + agentID, OnEvent: func(ev webrtcgw.Event) { p.agentLegEvent(agentID, a, ev) }})
	if err != nil {
		return nil, err
	}
	a.leg = leg
	p.mu.Lock()
	old := p.agents[agentID]
	p.agents[agentID] = a
	p.mu.Unlock()
	if old != nil {
		_ = old.leg.Close()
	}
	return a, nil
}

// agentLegEvent tells the agent's page, and the engine (which tells supervisors and protects the customer), about the media.
func (p *webPhones) agentLegEvent(agentID string, a *agentPhone, ev webrtcgw.Event) {
	a.mu.Lock()
	tested := a.tested
	a.mu.Unlock()
	switch {
	case ev.Kind == webrtcgw.EventState && (ev.State == webrtcgw.StateDisconnected || ev.State == webrtcgw.StateFailed):
		a.send(webrtcgw.Message{Type: webrtcgw.MsgState, State: webrtcgw.StateReconnecting})
		p.eng.AgentMedia(agentID, false, "the browser's connection was lost")
	case ev.Kind == webrtcgw.EventState && ev.State == webrtcgw.StateConnected && tested:
		a.send(webrtcgw.Message{Type: webrtcgw.MsgState, State: webrtcgw.StateTalking})
		p.eng.AgentMedia(agentID, true, "")
	case ev.Kind == webrtcgw.EventMediaTimeout && ev.From == webrtcgw.FromBrowser:
		a.send(webrtcgw.Message{Type: webrtcgw.MsgError, Code: "media", Text: "no audio from your microphone"})
		p.eng.AgentMedia(agentID, false, "no audio from the browser")
	case ev.Kind == webrtcgw.EventMediaResumed && ev.From == webrtcgw.FromBrowser && tested:
		p.eng.AgentMedia(agentID, true, "")
	}
}

// startWebRTC builds the media gateway and its signalling for the system.
func startWebRTC(cfg Config, log *slog.Logger, window time.Duration) (*webPhones, error) {
	wc := cfg.WebRTC
	wc.loopback = wc.loopback || loopbackHTTP(cfg.HTTPAddr)
	gcfg, err := wc.gateway()
	if err != nil {
		return nil, err
	}
	gcfg.Logger = log
	gw, err := webrtcgw.New(gcfg)
	if err != nil {
		return nil, errors.Join(errors.New("media gateway"), err)
	}
	p := newWebPhones(gw, log)
	if window > 0 {
		p.window = window
	}
	return p, nil
}
