package agentui

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cc/switchboard/cti"
)

// Hub is the websocket hub: it implements cti.Notifier for the engine and fans messages out to the desktops and wallboards.
//
// It never blocks its caller: every connection has a bounded send queue, filled without waiting; a connection whose queue is full
// is dropped (switchboard_ws_dropped_total) and its page re-syncs on reconnect. Each connection has exactly one reader and one
// writer goroutine, owned by the HTTP handler that upgraded it; Close ends them all and waits.
//
// Presence follows the connections of agents: the first desktop of an agent opening reports Desk.Presence(id, true) at once; the
// last one closing reports Desk.Presence(id, false) only after GraceDisconnect without a new one, so a reload costs nothing.
type Hub struct {
	desk       cti.Desk
	log        *slog.Logger
	m          *metrics
	grace      time.Duration
	statsEvery time.Duration
	queueLen   int
	writeWait  time.Duration
	pingEvery  time.Duration

	mu      sync.Mutex
	closed  bool
	conns   map[*conn]struct{}
	byAgent map[string]map[*conn]struct{} // desktops of agents (role agent), by agent id
	sups    map[*conn]struct{}            // supervisors' and admins' pages
	pops    map[string]*cti.ScreenPop     // each agent's current screen-pop, for reconnects
	stats   map[string]cti.QueueStatus    // latest statistics per queue
	dirty   map[string]bool               // queues changed since the last flush
	wg      sync.WaitGroup                // connection handlers

	presMu   sync.Mutex // orders presence reports; never held by the Notifier methods
	presence map[string]*presence
	timers   sync.WaitGroup

	stop     chan struct{}
	stopOnce sync.Once
}

type presence struct {
	conns    int
	reported bool // what the engine was told last
	timer    *time.Timer
}

// frame is one queued message: its JSON with seq 0 (the writer puts in the connection's own number). last closes the connection
// once written.
type frame struct {
	b    []byte
	last bool
}

type conn struct {
	ws   *websocket.Conn
	sess *cti.Session
	send chan frame
	done chan struct{}
	once sync.Once
}

// kill asks the writer to close the connection; it never blocks.
func (c *conn) kill() { c.once.Do(func() { close(c.done) }) }

func newHub(cfg Config, m *metrics) *Hub {
	return &Hub{desk: cfg.Desk, log: cfg.Logger, m: m, grace: cfg.GraceDisconnect, statsEvery: cfg.StatsEvery,
		queueLen: cfg.SendQueue, writeWait: cfg.WriteWait, pingEvery: cfg.PingEvery,
		conns: map[*conn]struct{}{}, byAgent: map[string]map[*conn]struct{}{}, sups: map[*conn]struct{}{},
		pops: map[string]*cti.ScreenPop{}, stats: map[string]cti.QueueStatus{}, dirty: map[string]bool{},
		presence: map[string]*presence{}, stop: make(chan struct{})}
}

var _ cti.Notifier = (*Hub)(nil)

// encode marshals m with seq 0; the types are ours and always encodable.
func encode(m Message) []byte {
	b, err := json.Marshal(m)
	if err != nil {
		panic("agentui: encode message: " + err.Error())
	}
	return b
}

// The engine's pushes are encoded only when a desktop or wallboard is there to receive them (agents on desk phones, a
// wallboard closed): encoding every call and agent update was 3 % of the controller's CPU under load with nobody watching.
// The encoders take their value by copy so the caller's stays on its stack when nothing is encoded.

func encodeCall(cv cti.CallView) []byte     { return encode(Message{Type: TypeCall, Call: &cv}) }
func encodeAgent(st cti.AgentStatus) []byte { return encode(Message{Type: TypeAgent, Agent: &st}) }

// seqPrefix is how every encoded Message starts; the writer replaces it with the connection's number.
const seqPrefix = `{"seq":0`

// enqueue queues f for c without waiting; a full queue drops c. Call with h.mu held.
func (h *Hub) enqueue(c *conn, f frame) {
	select {
	case c.send <- f:
	default:
		select {
		case <-c.done:
		default:
			h.m.dropped.Inc()
			c.kill()
		}
	}
}

// Offer rings an agent's desktops with the screen-pop (cti.Notifier).
func (h *Hub) Offer(agentID string, pop cti.ScreenPop) {
	var f frame
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pops[agentID] = &pop
	for c := range h.byAgent[agentID] {
		if f.b == nil {
			f.b = encode(Message{Type: TypeOffer, Offer: &pop})
		}
		h.enqueue(c, f)
	}
	h.m.messages.WithLabelValues(string(TypeOffer)).Inc()
}

// Call reports a call to its agent and to supervisors (cti.Notifier).
func (h *Hub) Call(cv cti.CallView) {
	var f frame
	h.mu.Lock()
	defer h.mu.Unlock()
	if cv.AgentID != "" {
		for c := range h.byAgent[cv.AgentID] {
			if f.b == nil {
				f.b = encodeCall(cv)
			}
			h.enqueue(c, f)
		}
	}
	for c := range h.sups {
		if f.b == nil {
			f.b = encodeCall(cv)
		}
		h.enqueue(c, f)
	}
	h.m.messages.WithLabelValues(string(TypeCall)).Inc()
}

// Agent reports an agent's state to that agent and to supervisors (cti.Notifier).
func (h *Hub) Agent(st cti.AgentStatus) {
	var f frame
	h.mu.Lock()
	defer h.mu.Unlock()
	switch st.State {
	case cti.AgentReady, cti.AgentNotReady, cti.AgentLoggedOut:
		if st.CallID == "" {
			delete(h.pops, st.AgentID)
		}
	}
	for c := range h.byAgent[st.AgentID] {
		if f.b == nil {
			f.b = encodeAgent(st)
		}
		h.enqueue(c, f)
	}
	for c := range h.sups {
		if f.b == nil {
			f.b = encodeAgent(st)
		}
		h.enqueue(c, f)
	}
	h.m.messages.WithLabelValues(string(TypeAgent)).Inc()
}

// Queues keeps the latest statistics of each queue; Run sends those that changed to supervisors at most every StatsEvery
// (cti.Notifier).
func (h *Hub) Queues(qs []cti.QueueStatus) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, q := range qs {
		h.stats[q.Queue] = q
		h.dirty[q.Queue] = true
	}
}

// Run flushes coalesced queue statistics until ctx ends or the hub is closed.
func (h *Hub) Run(ctx context.Context) error {
	t := time.NewTicker(h.statsEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-h.stop:
			return nil
		case <-t.C:
			h.flushStats()
		}
	}
}

func (h *Hub) flushStats() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.dirty) == 0 {
		return
	}
	names := make([]string, 0, len(h.dirty))
	for q := range h.dirty {
		names = append(names, q)
	}
	slices.Sort(names)
	qs := make([]cti.QueueStatus, 0, len(names))
	for _, q := range names {
		qs = append(qs, h.stats[q])
	}
	clear(h.dirty)
	f := frame{b: encode(Message{Type: TypeQueues, Queues: qs})}
	for c := range h.sups {
		h.enqueue(c, f)
	}
	h.m.messages.WithLabelValues(string(TypeQueues)).Inc()
}

// closeSession ends the connections of one session (logout).
func (h *Hub) closeSession(id string) {
	h.closeWhere(func(c *conn) bool { return c.sess.ID == id }, "signed out")
}

// closeAgent ends every connection of an agent (force logout); their pages show the reason and go to the sign-in page.
func (h *Hub) closeAgent(agentID, reason string) {
	h.closeWhere(func(c *conn) bool { return c.sess.AgentID == agentID }, reason)
}

// Kick drops every connection of an agent without ending the session: their pages reconnect and re-sync from a new snapshot
// (an operator's tool for a stuck desktop, and how tests kill a websocket from the server side).
func (h *Hub) Kick(agentID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.conns {
		if c.sess.AgentID == agentID {
			c.kill()
		}
	}
}

func (h *Hub) closeWhere(match func(*conn) bool, reason string) {
	f := frame{b: encode(Message{Type: TypeLogout, Error: &errorJSON{Code: cti.EUNAUTHORIZED, Message: reason}}), last: true}
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.conns {
		if match(c) {
			h.enqueue(c, f)
		}
	}
}

// Close closes every connection, stops Run and the presence timers, and waits for the connections' goroutines.
func (h *Hub) Close() {
	h.stopOnce.Do(func() { close(h.stop) })
	h.mu.Lock()
	h.closed = true
	for c := range h.conns {
		c.kill()
	}
	h.mu.Unlock()
	h.wg.Wait()
	h.presMu.Lock()
	for _, p := range h.presence {
		if p.timer != nil && p.timer.Stop() {
			h.timers.Done()
		}
		p.timer = nil
	}
	h.presMu.Unlock()
	h.timers.Wait()
}

// Connections returns how many websockets are open.
func (h *Hub) Connections() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

func (h *Hub) register(c *conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.wg.Add(1)
	h.conns[c] = struct{}{}
	if c.sess.Role == cti.RoleAgent {
		set := h.byAgent[c.sess.AgentID]
		if set == nil {
			set = map[*conn]struct{}{}
			h.byAgent[c.sess.AgentID] = set
		}
		set[c] = struct{}{}
	} else {
		h.sups[c] = struct{}{}
	}
	h.m.conns.Inc()
	return true
}

func (h *Hub) unregister(c *conn) {
	h.mu.Lock()
	delete(h.conns, c)
	if set := h.byAgent[c.sess.AgentID]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(h.byAgent, c.sess.AgentID)
		}
	}
	delete(h.sups, c)
	h.m.conns.Dec()
	h.mu.Unlock()
	h.wg.Done()
}

// present counts an agent's desktop in or out and reports presence to the engine (see Hub).
func (h *Hub) present(agentID string, open bool) {
	h.presMu.Lock()
	defer h.presMu.Unlock()
	p := h.presence[agentID]
	if p == nil {
		p = &presence{}
		h.presence[agentID] = p
	}
	if open {
		p.conns++
		if p.timer != nil && p.timer.Stop() {
			h.timers.Done()
		}
		p.timer = nil
		if !p.reported {
			p.reported = true
			h.desk.Presence(agentID, true)
		}
		return
	}
	p.conns--
	if p.conns > 0 || !p.reported {
		return
	}
	if h.grace < 0 {
		p.reported = false
		h.desk.Presence(agentID, false)
		return
	}
	h.timers.Add(1)
	p.timer = time.AfterFunc(h.grace, func() {
		defer h.timers.Done()
		h.presMu.Lock()
		defer h.presMu.Unlock()
		if p.conns == 0 && p.reported && p.timer != nil {
			p.reported, p.timer = false, nil
			h.desk.Presence(agentID, false)
		}
	})
}

// snapshot is the first message of a connection: the engine's state filtered for the session's role.
func (h *Hub) snapshot(ctx context.Context, sess *cti.Session, now time.Time) Message {
	ds, err := h.desk.Snapshot(ctx)
	if err != nil {
		return Message{Type: TypeError, Error: &errorJSON{Code: cti.ErrorCode(err), Message: cti.ErrorMessage(err)}}
	}
	snap := filterSnapshot(ds, sess, now)
	if sess.Role == cti.RoleAgent {
		h.mu.Lock()
		snap.Offer = h.pops[sess.AgentID]
		h.mu.Unlock()
	} else {
		h.mu.Lock()
		// The hub's statistics may be newer than the engine's snapshot when Run has not flushed them yet.
		for i, q := range snap.Queues {
			if s, ok := h.stats[q.Queue]; ok && s.At.After(q.At) {
				snap.Queues[i] = s
			}
		}
		h.mu.Unlock()
	}
	return Message{Type: TypeSnapshot, Snapshot: snap}
}

// filterSnapshot keeps what sess may see: an agent sees their own status and calls, supervisors everything.
func filterSnapshot(ds cti.DeskSnapshot, sess *cti.Session, now time.Time) *Snapshot {
	snap := &Snapshot{Me: meOf(sess), Now: now, Seq: ds.Seq, Agents: []cti.AgentStatus{}, Calls: []cti.CallView{},
		Queues: []cti.QueueStatus{}}
	if sess.Role != cti.RoleAgent {
		snap.Agents = append(snap.Agents, ds.Agents...)
		snap.Calls = append(snap.Calls, ds.Calls...)
		snap.Queues = append(snap.Queues, ds.Queues...)
		return snap
	}
	for _, a := range ds.Agents {
		if a.AgentID == sess.AgentID {
			snap.Agents = append(snap.Agents, a)
		}
	}
	for _, c := range ds.Calls {
		if c.AgentID == sess.AgentID {
			snap.Calls = append(snap.Calls, c)
		}
	}
	return snap
}

// serve runs one websocket until it closes: this goroutine reads, a second one writes.
func (h *Hub) serve(ws *websocket.Conn, sess *cti.Session, now time.Time) {
	c := &conn{ws: ws, sess: sess, send: make(chan frame, h.queueLen), done: make(chan struct{})}
	if !h.register(c) {
		ws.Close()
		return
	}
	defer h.unregister(c)
	if sess.Role == cti.RoleAgent {
		h.present(sess.AgentID, true)
		defer h.present(sess.AgentID, false)
	}
	// Registered first, snapshot second: whatever changes meanwhile is queued behind the snapshot, and states are whole, so
	// nothing is lost and replaying is harmless.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	first := h.snapshot(ctx, sess, now)
	cancel()
	firstFrame := frame{b: encode(first), last: first.Type == TypeError}

	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		h.write(c, firstFrame)
	}()
	h.read(c)
	c.kill()
	<-writerDone
}

// read discards what the client sends (it sends nothing but control frames) and notices when it goes away.
func (h *Hub) read(c *conn) {
	c.ws.SetReadLimit(1024)
	wait := h.pingEvery * 5 / 2
	c.ws.SetReadDeadline(time.Now().Add(wait)) //nolint:errcheck // reported by the next read
	c.ws.SetPongHandler(func(string) error {
		return c.ws.SetReadDeadline(time.Now().Add(wait))
	})
	for {
		if _, _, err := c.ws.NextReader(); err != nil {
			return
		}
	}
}

// write sends the connection's frames with a deadline each, pings, and closes the socket when told to or on a failed write.
func (h *Hub) write(c *conn, first frame) {
	defer c.ws.Close()
	ping := time.NewTicker(h.pingEvery)
	defer ping.Stop()
	var seq uint64
	var num [20]byte
	send := func(f frame) bool {
		seq++
		c.ws.SetWriteDeadline(time.Now().Add(h.writeWait)) //nolint:errcheck // reported by the write
		w, err := c.ws.NextWriter(websocket.TextMessage)
		if err != nil {
			return false
		}
		w.Write([]byte(`{"seq":`))                    //nolint:errcheck // reported by Close
		w.Write(strconv.AppendUint(num[:0], seq, 10)) //nolint:errcheck
		w.Write(f.b[len(seqPrefix):])                 //nolint:errcheck
		if err := w.Close(); err != nil {
			return false
		}
		return !f.last
	}
	closing := func(code int, text string) {
		c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(h.writeWait)) //nolint:errcheck
	}
	if !send(first) {
		closing(websocket.CloseNormalClosure, "")
		c.kill()
		return
	}
	for {
		select {
		case f := <-c.send:
			if !send(f) {
				closing(websocket.CloseNormalClosure, "")
				c.kill()
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(h.writeWait)); err != nil {
				c.kill()
				return
			}
		case <-c.done:
			closing(websocket.CloseGoingAway, "closed by the server")
			return
		}
	}
}

var upgrader = websocket.Upgrader{
	ReadBufferSize:  1024,
	WriteBufferSize: 4096,
	CheckOrigin:     sameOrigin,
}

// sameOrigin accepts a websocket only from a page of this server. Browsers always send Origin; tools that send none carry no
// ambient cookie risk and still need a session cookie.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// serveWS upgrades a signed-in request to the hub's websocket.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	sess, err := s.session(r)
	if err != nil {
		Error(w, r, s.log, err)
		return
	}
	if !sameOrigin(r) {
		Error(w, r, s.log, cti.Errorf(cti.EFORBIDDEN, "cross-origin websocket"))
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered
	}
	s.hub.serve(ws, sess, s.clock.Now())
}

type metrics struct {
	dropped  prometheus.Counter
	conns    prometheus.Gauge
	messages *prometheus.CounterVec
	logins   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_ws_dropped_total",
			Help: "Websockets dropped because their send queue was full (slow or dead clients)."}),
		conns: prometheus.NewGauge(prometheus.GaugeOpts{Name: "switchboard_ws_connections",
			Help: "Open websockets of desktops and wallboards."}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_ws_messages_total",
			Help: "Messages the hub fanned out, by type (each counted once, whatever the number of receivers)."}, []string{"type"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_logins_total",
			Help: "Sign-in attempts by result: ok, denied, limited."}, []string{"result"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.dropped, m.conns, m.messages, m.logins} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
