package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/switchboard-cc/switchboard/cti/arisim"
	"github.com/switchboard-cc/switchboard/cti/webrtcgw"
	"github.com/switchboard-cc/switchboard/cti/webrtcgw/browsersim"
	"github.com/switchboard-cc/switchboard/ivr/sounds"
)

// The load-webrtc command measures the whole path of web calls in three processes, so that getrusage gives each its own CPU:
// this process is the controller (engine, agent-ui, crmstore and the media gateway, wired by Main as serve does); one child
// is the ARI emulator (emulated phone agents, the externalMedia channels' RTP); the other child plays the browsers (pion
// peers that take a page token, open /ws/call and send paced µ-law). Children talk over stdin and stdout, one JSON message a
// line, like the load command's emulator.
const loadWebRTCRoleEnv = "SWITCHBOARD_LOAD_WEBRTC_ROLE"

func init() {
	register("load-webrtc", command{
		summary: "measure N concurrent web calls end to end: simulated browsers → media gateway → the emulator's externalMedia",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			switch os.Getenv(loadWebRTCRoleEnv) {
			case "emulator":
				return runWebLoadEmulator(ctx, os.Stdin, stdout, stderr)
			case "browsers":
				return runWebLoadBrowsers(ctx, os.Stdin, stdout, stderr)
			}
			return runLoadWebRTC(ctx, args, stdout, stderr)
		},
	})
}

// webLoadOptions are the command's settings.
type webLoadOptions struct {
	Calls       int
	Ramp        float64 // calls set up a second
	Duration    time.Duration
	DatabaseURL string
	CPUProfile  string
}

// webLoadMsg is every message between the processes; each side fills what its command needs.
type webLoadMsg struct {
	Cmd string `json:"cmd,omitempty"` // setup, mark, stop, report, measure, hangup
	Err string `json:"err,omitempty"`

	// setup
	Password  string        `json:"password,omitempty"`
	Endpoints []string      `json:"endpoints,omitempty"`
	Base      string        `json:"base,omitempty"`
	Calls     int           `json:"calls,omitempty"`
	Ramp      float64       `json:"ramp,omitempty"`
	Duration  time.Duration `json:"duration,omitempty"`
	Addr      string        `json:"addr,omitempty"`

	// replies
	Up       int             `json:"up,omitempty"`
	Failed   int             `json:"failed,omitempty"`
	Setup    []time.Duration `json:"setup,omitempty"` // browsers: page start → "connected", sorted
	CPU      time.Duration   `json:"cpu,omitempty"`   // the process's CPU over the measured window
	Sent     int64           `json:"sent,omitempty"`
	Received int64           `json:"received,omitempty"`
	Expected int64           `json:"expected,omitempty"` // browsers: packets the far end's sequence numbers say were sent in the window
	Latency  []time.Duration `json:"latency,omitempty"`  // emulator: a sample of browser → externalMedia one-way delays, sorted
	MaxDelay time.Duration   `json:"max_delay,omitempty"`
}

func runLoadWebRTC(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load-webrtc", flag.ContinueOnError)
	o := webLoadOptions{DatabaseURL: DefaultDatabaseURL}
	fs.IntVar(&o.Calls, "calls", 300, "concurrent web calls")
	fs.Float64Var(&o.Ramp, "ramp", 20, "web calls set up a `second` until all are up")
	fs.DurationVar(&o.Duration, "duration", 30*time.Second, "how long the media is measured once every call is up")
	c := Config{DatabaseURL: o.DatabaseURL}
	c.bindDatabaseFlags(fs)
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write the controller's CPU profile over the measured window to this `file`")
	if err := parseCommandFlags(fs, args, stdout); err != nil {
		return err
	}
	o.DatabaseURL = c.DatabaseURL
	switch {
	case o.Calls <= 0:
		return errUsage{fmt.Errorf("invalid -calls %d: must be positive", o.Calls)}
	case o.Ramp <= 0 || math.IsInf(o.Ramp, 0) || math.IsNaN(o.Ramp):
		return errUsage{fmt.Errorf("invalid -ramp %g: must be positive", o.Ramp)}
	case o.Duration <= 0:
		return errUsage{fmt.Errorf("invalid -duration %s: must be positive", o.Duration)}
	}
	if err := validateDatabaseURL(o.DatabaseURL); err != nil {
		return errUsage{err}
	}
	rep, err := webLoadRun(ctx, o, stderr)
	if rep != nil {
		rep.print(stdout)
	}
	if err != nil {
		return err
	}
	if rep.Up < o.Calls {
		return fmt.Errorf("only %d of %d web calls came up", rep.Up, o.Calls)
	}
	if lost := rep.lostUp() + rep.lostDown(); lost > 0 {
		return fmt.Errorf("%d packets lost", lost)
	}
	return nil
}

// webLoadReport is the outcome of a run.
type webLoadReport struct {
	Opts          webLoadOptions
	LoadAvg       string
	MachineBusy   float64
	Window        time.Duration
	Up, Failed    int
	Setup         []time.Duration
	Browsers      webLoadMsg // sent, received, expected, CPU
	Emulator      webLoadMsg // received, latency, CPU
	ControllerCPU time.Duration
	Legs          int
	Gateway       webrtcgw.Stats // every web leg's traffic since it started, summed
	KernelDrops   int64          // UDP datagrams the kernel dropped on full receive buffers (every process) in the window
}

// udpReceiveDrops is the kernel's count of UDP datagrams dropped on a full socket receive buffer (RcvbufErrors), machine-wide;
// -1 where /proc/net/snmp is missing.
func udpReceiveDrops() int64 {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return -1
	}
	var names []string
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		if i := slices.Index(names, "RcvbufErrors"); i > 0 && i < len(f) {
			n, _ := strconv.ParseInt(f[i], 10, 64)
			return n
		}
	}
	return -1
}

func (r *webLoadReport) lostUp() int64   { return r.Browsers.Sent - r.Emulator.Received }
func (r *webLoadReport) lostDown() int64 { return r.Browsers.Expected - r.Browsers.Received }

func webLoadRun(ctx context.Context, o webLoadOptions, stderr io.Writer) (*webLoadReport, error) {
	stderr = lockedWriter{&sync.Mutex{}, stderr} // the children's stderr is copied to it concurrently
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rep := &webLoadReport{Opts: o, LoadAvg: loadAverage()}

	w, err := newLoadWorld(ctx, o.DatabaseURL, o.Calls+10, "switchboard-load-webrtc-")
	if err != nil {
		return nil, err
	}
	defer w.close()
	dbURL, endpoints, flows, recs := w.dbURL, w.endpoints, w.flows, w.recs

	password := randomToken()
	emu, err := startWebLoadChild(ctx, stderr, "emulator")
	if err != nil {
		return nil, err
	}
	defer emu.close()
	r, err := emu.send(webLoadMsg{Cmd: "setup", Password: password, Endpoints: endpoints})
	if err != nil {
		return nil, err
	}

	m := NewMain()
	m.Stdout, m.Stderr, m.Logger = io.Discard, stderr, log
	m.Config.HTTPAddr = "127.0.0.1:0"
	m.Config.DatabaseURL, m.Config.Migrate, m.Config.Seed = dbURL, false, false
	m.Config.ARIURL, m.Config.ARIPassword = "http://"+r.Addr+"/ari", password
	m.Config.FlowsDir, m.Config.RecordingsDir, m.Config.DemoCallsPerMinute = flows, recs, 0
	m.Config.WebRTC.IPs = "127.0.0.1"
	m.Config.WebRTC.callsPerMinute = max(60*o.Ramp*2, 600)
	if err := m.Run(ctx); err != nil {
		m.Close()
		return nil, err
	}
	defer m.Close()
	if err := waitFor(ctx, 15*time.Second, m.sys.ari.Ready); err != nil {
		return nil, fmt.Errorf("the controller did not connect to the emulator: %w", err)
	}
	if err := readyLoadAgents(ctx, m.sys.engine, m.sys.store); err != nil {
		return nil, err
	}

	browsers, err := startWebLoadChild(ctx, stderr, "browsers")
	if err != nil {
		return nil, err
	}
	defer browsers.close()
	up, err := browsers.send(webLoadMsg{Cmd: "setup", Base: m.URL(), Calls: o.Calls, Ramp: o.Ramp})
	if err != nil {
		return rep, err
	}
	rep.Up, rep.Failed, rep.Setup = up.Up, up.Failed, up.Setup
	if up.Err != "" {
		fmt.Fprintf(stderr, "first browser failure: %s\n", up.Err)
	}
	rep.Legs = m.sys.web.gw.Legs()

	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return rep, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return rep, err
		}
	}
	if _, err := browsers.send(webLoadMsg{Cmd: "measure", Duration: o.Duration}); err != nil {
		return rep, err
	}
	if _, err := emu.send(webLoadMsg{Cmd: "mark"}); err != nil {
		return rep, err
	}
	drops0 := udpReceiveDrops()
	busy0 := machineCPU()
	u0, s0 := processCPU()
	start := time.Now()
	select {
	case <-ctx.Done():
		return rep, ctx.Err()
	case <-time.After(o.Duration):
	}
	u1, s1 := processCPU()
	rep.Window, rep.ControllerCPU = time.Since(start), u1+s1-u0-s0
	rep.MachineBusy = machineCPU().busySince(busy0)
	if o.CPUProfile != "" {
		pprof.StopCPUProfile()
	}
	if _, err := emu.send(webLoadMsg{Cmd: "stop"}); err != nil {
		return rep, err
	}
	if rep.Browsers, err = browsers.send(webLoadMsg{Cmd: "report"}); err != nil {
		return rep, err
	}
	// Drain: on a starved machine packets may still be queued seconds after the window; wait until every measured packet
	// arrived or the count stood still for two seconds.
	for last, still := int64(-1), time.Now(); ; {
		n, err := emu.send(webLoadMsg{Cmd: "count"})
		if err != nil {
			return rep, err
		}
		if n.Received != last {
			last, still = n.Received, time.Now()
		}
		if n.Received >= rep.Browsers.Sent || time.Since(still) > 2*time.Second {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if rep.Emulator, err = emu.send(webLoadMsg{Cmd: "report"}); err != nil {
		return rep, err
	}
	rep.Gateway = m.sys.web.webLegStats()
	rep.KernelDrops = udpReceiveDrops() - drops0
	_, err = browsers.send(webLoadMsg{Cmd: "hangup"})
	return rep, err
}

func (r *webLoadReport) print(w io.Writer) {
	o := r.Opts
	fmt.Fprintf(w, "switchboard load-webrtc: %d web calls (set up at %g/s), media measured for %s\n", o.Calls, o.Ramp, o.Duration)
	fmt.Fprintf(w, "machine: load average %s at the start; all cores %.0f%% busy during the window (every process)\n",
		r.LoadAvg, 100*r.MachineBusy)
	fmt.Fprintf(w, "calls up: %d of %d (%d failed), %d gateway legs; page → connected p50 %s, p99 %s\n", r.Up, o.Calls, r.Failed,
		r.Legs, fmtDur(pct(r.Setup, 0.5)), fmtDur(pct(r.Setup, 0.99)))
	b, e := r.Browsers, r.Emulator
	fmt.Fprintf(w, "browser → externalMedia: %d sent, %d received, %d lost (%.1f packets/s)\n", b.Sent, e.Received, r.lostUp(),
		float64(b.Sent)/r.Window.Seconds())
	fmt.Fprintf(w, "externalMedia → browser: %d expected by sequence number, %d received, %d lost (%.1f packets/s)\n",
		b.Expected, b.Received, r.lostDown(), float64(b.Received)/r.Window.Seconds())
	g := r.Gateway
	fmt.Fprintf(w, "gateway, whole calls: from browsers %d packets (%d missing by sequence number), %d forwarded to externalMedia; "+
		"from externalMedia %d (%d missing), %d forwarded to browsers\n", g.FromBrowser.Packets, g.FromBrowser.Lost, g.ToPBX,
		g.FromPBX.Packets, g.FromPBX.Lost, g.ToBrowser)
	fmt.Fprintf(w, "kernel: %d UDP datagrams dropped on full receive buffers during the window (machine-wide)\n", r.KernelDrops)
	fmt.Fprintf(w, "one-way latency browser → externalMedia (%d samples): p50 %s, p99 %s, max %s\n", len(e.Latency),
		fmtDur(pct(e.Latency, 0.5)), fmtDur(pct(e.Latency, 0.99)), fmtDur(e.MaxDelay))
	per := func(cpu time.Duration) string {
		if r.Window <= 0 || o.Calls == 0 {
			return "-"
		}
		share := cpu.Seconds() / r.Window.Seconds()
		return fmt.Sprintf("%.1f%% of a core (%.2f%% per call)", 100*share, 100*share/float64(o.Calls))
	}
	fmt.Fprintf(w, "CPU over the window: controller+gateway %s; emulator %s; browsers %s\n", per(r.ControllerCPU), per(e.CPU),
		per(b.CPU))
}

// --- child processes ---

// webLoadChild is one child process seen from the controller.
type webLoadChild struct{ *loadChild }

func startWebLoadChild(ctx context.Context, stderr io.Writer, role string) (*webLoadChild, error) {
	c, err := startLoadChild(ctx, stderr, "load-webrtc", loadWebRTCRoleEnv+"="+role, role)
	if err != nil {
		return nil, err
	}
	return &webLoadChild{c}, nil
}

// send writes one message and reads the reply; a setup's error is the caller's to read from the reply.
func (c *webLoadChild) send(msg webLoadMsg) (webLoadMsg, error) {
	var r webLoadMsg
	if err := c.call(msg, &r); err != nil {
		return r, err
	}
	if r.Err != "" && msg.Cmd != "setup" {
		return r, errors.New(r.Err)
	}
	return r, nil
}

// childLoop reads commands until stdin ends and answers each with handle's reply.
func childLoop(stdin io.Reader, stdout io.Writer, handle func(webLoadMsg) webLoadMsg) error {
	in := newLineScanner(stdin)
	in.Buffer(nil, 16<<20)
	enc := json.NewEncoder(stdout)
	for in.Scan() {
		var m webLoadMsg
		if err := json.Unmarshal(in.Bytes(), &m); err != nil {
			return err
		}
		if err := enc.Encode(handle(m)); err != nil {
			return err
		}
	}
	return in.Err()
}

// --- the emulator's process ---

// webLoadSink measures what the browsers' packets look like when they reach the externalMedia channels.
type webLoadSink struct {
	mu       sync.Mutex
	received int64
	latency  []time.Duration
	maxDelay time.Duration
}

func (k *webLoadSink) packet(_ string, b []byte, at time.Time) {
	sent, measured, ok := browsersim.ReadStamp(b)
	if !ok || !measured {
		return
	}
	d := at.Sub(sent)
	k.mu.Lock()
	k.received++
	if len(k.latency) < 1<<20 {
		k.latency = append(k.latency, d)
	}
	k.maxDelay = max(k.maxDelay, d)
	k.mu.Unlock()
}

func runWebLoadEmulator(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	sink := &webLoadSink{}
	var sim *arisim.Server
	defer func() {
		if sim != nil {
			sim.Close()
		}
	}()
	var cpu0, cpu time.Duration
	return childLoop(stdin, stdout, func(m webLoadMsg) webLoadMsg {
		switch m.Cmd {
		case "setup":
			eps := make(map[string]arisim.Behaviour, len(m.Endpoints))
			for _, id := range m.Endpoints {
				// Emulated phone agents answer quickly and talk until the browser hangs up.
				eps[id] = arisim.Behaviour{Registered: true, AnswerAfter: 100 * time.Millisecond, HangupAfter: time.Hour}
			}
			sim = arisim.New(arisim.Config{Username: "switchboard", Password: m.Password, Endpoints: eps, Sounds: sounds.Durations(),
				EventQueue: 1 << 16, OnRTP: sink.packet,
				Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
			addr, err := sim.Start(ctx, "127.0.0.1:0")
			if err != nil {
				return webLoadMsg{Err: err.Error()}
			}
			return webLoadMsg{Addr: addr}
		case "mark":
			u, s := processCPU()
			cpu0 = u + s
		case "stop":
			u, s := processCPU()
			cpu = u + s - cpu0
		case "count":
			sink.mu.Lock()
			defer sink.mu.Unlock()
			return webLoadMsg{Received: sink.received}
		case "report":
			sink.mu.Lock()
			defer sink.mu.Unlock()
			l := sampleSorted(sink.latency, 20000)
			return webLoadMsg{Received: sink.received, Latency: l, MaxDelay: sink.maxDelay, CPU: cpu}
		default:
			return webLoadMsg{Err: "unknown command " + strconv.Quote(m.Cmd)}
		}
		return webLoadMsg{}
	})
}

// sampleSorted returns at most n of ds, evenly spaced after sorting, so their quantiles are the whole set's.
func sampleSorted(ds []time.Duration, n int) []time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) <= n {
		return s
	}
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = s[i*(len(s)-1)/(n-1)]
	}
	return out
}

// --- the browsers' process ---

func runWebLoadBrowsers(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	bs, err := browsersim.New()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	var pages []*loadPage
	var wg sync.WaitGroup
	defer func() {
		cancel()
		for _, p := range pages {
			p.close()
		}
		wg.Wait()
	}()
	var until time.Time
	var cpu atomic.Int64
	return childLoop(stdin, stdout, func(m webLoadMsg) webLoadMsg {
		switch m.Cmd {
		case "setup":
			var r webLoadMsg
			pages, r = dialLoadPages(ctx, bs, m.Base, m.Calls, m.Ramp)
			return r
		case "measure":
			u, s := processCPU()
			until = time.Now().Add(m.Duration)
			bs.Measure(true)
			wg.Go(func() {
				t := time.NewTimer(m.Duration)
				defer t.Stop()
				select {
				case <-t.C:
				case <-ctx.Done():
				}
				bs.Measure(false)
				u1, s1 := processCPU()
				cpu.Store(int64(u1 + s1 - u - s))
			})
		case "report":
			// The window's end, then a second for the last packets to land.
			time.Sleep(time.Until(until) + time.Second)
			r := webLoadMsg{Sent: bs.Sent(), CPU: time.Duration(cpu.Load())}
			for _, p := range pages {
				if p.peer != nil {
					exp, got := p.peer.Heard()
					r.Expected += exp
					r.Received += got
				}
			}
			return r
		case "hangup":
			for _, p := range pages {
				p.hangup()
			}
		default:
			return webLoadMsg{Err: "unknown command " + strconv.Quote(m.Cmd)}
		}
		return webLoadMsg{}
	})
}

// dialLoadPages sets up n web calls at rate a second and waits until each is connected to an agent or failed.
func dialLoadPages(ctx context.Context, bs *browsersim.Browsers, base string, n int, rate float64) ([]*loadPage, webLoadMsg) {
	type result struct {
		took time.Duration
		err  error
	}
	results := make(chan result, n)
	pages := make([]*loadPage, n)
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	for i := range n {
		p := &loadPage{}
		pages[i] = p
		wg.Go(func() {
			start := time.Now()
			err := p.call(ctx, bs, base)
			results <- result{time.Since(start), err}
		})
		if i < n-1 {
			select {
			case <-tick.C:
			case <-ctx.Done():
				return pages, webLoadMsg{Err: ctx.Err().Error()}
			}
		}
	}
	var r webLoadMsg
	for range n {
		res := <-results
		if res.err != nil {
			r.Failed++
			if r.Err == "" {
				r.Err = res.err.Error()
			}
			continue
		}
		r.Up++
		r.Setup = append(r.Setup, res.took)
	}
	slices.Sort(r.Setup)
	return pages, r
}

// loadPage is one web caller's page: the widget's signalling over /ws/call and a simulated browser's PeerConnection.
type loadPage struct {
	peer *browsersim.Peer
	ws   *websocket.Conn
	wmu  sync.Mutex
	done chan struct{} // the reader ended
}

// call does what the widget does: a page token, /ws/call, the offer; it returns once the call is connected to an agent.
func (p *loadPage) call(ctx context.Context, bs *browsersim.Browsers, base string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/webcall/token?site=load", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Origin", base)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("page token: %w", err)
	}
	var tok struct {
		Token string `json:"token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil {
		return fmt.Errorf("page token: status %d", resp.StatusCode)
	}
	u := "ws" + strings.TrimPrefix(base, "http") + "/ws/call?" + url.Values{"token": {tok.Token}}.Encode()
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, u, http.Header{"Origin": {base}})
	if err != nil {
		return fmt.Errorf("/ws/call: %w", err)
	}
	p.ws = ws
	peer, offer, err := bs.NewPeer(ctx)
	if err != nil {
		ws.Close()
		return err
	}
	p.peer = peer
	if err := p.send(webrtcgw.Message{Type: webrtcgw.MsgOffer, SDP: offer}); err != nil {
		return err
	}
	connected := make(chan error, 1)
	p.done = make(chan struct{})
	go func() { // ends when the websocket closes (hangup or close)
		defer close(p.done)
		var once sync.Once
		report := func(err error) { once.Do(func() { connected <- err }) }
		defer report(errors.New("the call's websocket closed before the call was connected"))
		for {
			var m webrtcgw.Message
			if err := ws.ReadJSON(&m); err != nil {
				return
			}
			switch {
			case m.Type == webrtcgw.MsgAnswer:
				if err := peer.Accept(m.SDP); err != nil {
					report(err)
				}
			case m.Type == webrtcgw.MsgError:
				report(fmt.Errorf("server: %s %s", m.Code, m.Text))
			case m.Type == webrtcgw.MsgState && m.State == webrtcgw.StateTalking:
				report(nil)
			case m.Type == webrtcgw.MsgHangup:
				report(fmt.Errorf("hung up: %s", m.Reason))
			}
		}
	}()
	select {
	case err := <-connected:
		return err
	case <-ctx.Done():
		return fmt.Errorf("not connected to an agent: %w", ctx.Err())
	}
}

func (p *loadPage) send(m webrtcgw.Message) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	p.ws.SetWriteDeadline(time.Now().Add(5 * time.Second)) //nolint:errcheck // the write reports it
	return p.ws.WriteJSON(m)
}

// hangup is the widget's hang-up button.
func (p *loadPage) hangup() {
	if p.ws != nil {
		_ = p.send(webrtcgw.Message{Type: webrtcgw.MsgHangup})
	}
}

func (p *loadPage) close() {
	if p.ws != nil {
		p.ws.Close()
	}
	if p.done != nil {
		<-p.done
	}
	if p.peer != nil {
		_ = p.peer.Close()
	}
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
