package arisim

import (
	"bufio"
	"encoding/binary"
	"net"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

const wsWriteTimeout = 10 * time.Second

var upgrader = websocket.Upgrader{
	ReadBufferSize:  4096,
	WriteBufferSize: 16384,
	CheckOrigin:     func(*http.Request) bool { return true },
}

// wsConn is one events websocket: one reader and one writer goroutine, a
// bounded send queue, both goroutines owned by the Server. Events are
// framed straight into the queue, a byte buffer. The goroutine that queued
// them sends them as it releases the server's lock (Server.unlock), in one
// write that never blocks; what the socket does not take at once is left
// to the writer goroutine. So under load an event costs no goroutine
// hand-off, and a slow client never stalls the emulator.
type wsConn struct {
	s         *Server
	ws        *websocket.Conn
	out       *lockedConn // under ws: written by us directly, by the library for control frames
	wake      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	apps      []string // apps this connection still holds
	dirty     bool     // listed in s.dirty (under s.mu)

	qmu     sync.Mutex
	head    []byte // what the socket did not take of a batch: sent before queued
	queued  []byte // websocket frames not yet sent
	nq      int    // events in queued
	max     int    // events queued past which the connection is a slow consumer
	sending bool   // a goroutine is sending queued frames, until none is left
	spare   []byte // an emptied buffer to queue into next
}

// pending is the number of events waiting, the rest of a batch counting as
// one. Caller holds c.qmu.
func (c *wsConn) pending() int {
	if len(c.head) > 0 {
		return c.nq + 1
	}
	return c.nq
}

// enqueue frames b as one text message (each event stays its own message,
// as Asterisk sends them) and queues it; b is copied. It reports false when
// the queue is full.
// Caller holds s.mu.
func (c *wsConn) enqueue(b []byte) bool {
	select {
	case <-c.done:
		return true
	default:
	}
	c.qmu.Lock()
	if c.pending() >= c.max {
		c.qmu.Unlock()
		return false
	}
	if need := len(b) + 10; cap(c.queued)-len(c.queued) < need {
		// At least double: append grows a large buffer by a quarter, which
		// copies a backlog (a lagging controller's) four times over.
		c.queued = slices.Grow(c.queued, max(need, len(c.queued)))
	}
	c.queued = appendFrame(c.queued, b)
	c.nq++
	c.qmu.Unlock()
	if !c.dirty {
		c.dirty = true
		c.s.dirty = append(c.s.dirty, c)
	}
	return true
}

// appendFrame appends b as an unmasked, unfragmented text frame (RFC 6455
// 5.2: a server never masks).
func appendFrame(dst, b []byte) []byte {
	const fin, opText = 0x80, 0x1
	n := len(b)
	switch {
	case n < 126:
		dst = append(dst, fin|opText, byte(n))
	case n <= 0xffff:
		dst = append(dst, fin|opText, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, fin|opText, 127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return append(dst, b...)
}

// closeLocked asks the writer to send a close frame and stop.
func (c *wsConn) closeLocked() {
	c.closeOnce.Do(func() { close(c.done) })
}

func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request, q *request) {
	if !websocket.IsWebSocketUpgrade(r) {
		w.Header().Set("Upgrade", "websocket")
		http.Error(w, "Upgrade Required", http.StatusUpgradeRequired)
		return
	}
	s.mu.Lock()
	closed := s.closed
	s.unlock()
	if closed {
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		return
	}
	hj := &lockingHijacker{ResponseWriter: w}
	ws, err := upgrader.Upgrade(hj, r, nil)
	if err != nil {
		return
	}
	c := &wsConn{s: s, ws: ws, out: hj.conn, wake: make(chan struct{}, 1), done: make(chan struct{}), max: s.cfg.EventQueue}
	apps := q.list("app")
	s.mu.Lock()
	if s.closed {
		s.unlock()
		ws.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.wg.Add(2)
	go c.writeLoop()
	go c.readLoop()
	if len(apps) == 0 {
		b, _ := marshal(obj{{"type", "MissingParams"}, {"params", []string{"app"}}})
		c.enqueue(b)
		c.closeLocked()
		s.unlock()
		return
	}
	subscribeAll := q.bool("subscribeAll", false)
	for _, name := range apps {
		reg := s.apps[name]
		if reg == nil {
			reg = &appReg{name: name, endpoints: map[string]bool{}, devices: map[string]bool{}, channels: map[string]bool{}, bridges: map[string]bool{}}
			s.apps[name] = reg
			i, _ := slices.BinarySearch(s.appNames, name)
			s.appNames = slices.Insert(s.appNames, i, name)
		}
		if old := reg.conn; old != nil && old != c {
			// ApplicationReplaced goes through the application's event filter like any other event.
			if reg.filter.passes("ApplicationReplaced") {
				b, _ := (&event{typ: "ApplicationReplaced", order: orderAppBeforeID}).appendJSON(nil, s.timestamp(s.now()), name, s.cfg.AsteriskID)
				old.enqueue(b)
			} else {
				s.stats.EventsFiltered++
			}
			old.apps = remove(old.apps, name)
		} else if old == nil && !s.appInUse(reg) {
			// Asterisk destroyed the application when its last websocket went away with nothing subscribed to it: this
			// registration creates a new one, with no filter.
			reg.filter = eventFilter{}
		}
		reg.conn = c
		reg.subscribeAll = subscribeAll
		c.apps = append(c.apps, name)
	}
	s.unlock()
}

func remove(list []string, v string) []string {
	out := list[:0]
	for _, x := range list {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// dropConnLocked unregisters the connection's apps and stops it.
func (s *Server) dropConnLocked(c *wsConn) {
	for _, name := range c.apps {
		if reg := s.apps[name]; reg != nil && reg.conn == c {
			reg.conn = nil
		}
	}
	c.apps = nil
	delete(s.conns, c)
	c.closeLocked()
}

func (c *wsConn) writeLoop() {
	defer c.s.wg.Done()
	defer c.ws.Close()
	for {
		select {
		case <-c.wake:
			if err := c.send(true); err != nil {
				c.s.mu.Lock()
				c.s.dropConnLocked(c)
				c.s.unlock()
				return
			}
		case <-c.done:
			// Send what is queued (e.g. ApplicationReplaced, MissingParams),
			// after any other goroutine's send, then close.
			for {
				if c.send(true) != nil {
					return
				}
				c.qmu.Lock()
				idle := !c.sending && len(c.head) == 0 && len(c.queued) == 0
				c.qmu.Unlock()
				if idle {
					break
				}
				time.Sleep(time.Millisecond)
			}
			c.ws.SetWriteDeadline(time.Now().Add(time.Second))
			c.ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
			return
		}
	}
}

// maxSpare bounds the buffer kept for the next batch: a burst's buffer is
// not kept for the connection's life, a lagging controller's backlog of a
// few thousand events is.
const maxSpare = 1 << 20

// send writes the queued frames, batch after batch, until the queue is
// empty, unless another goroutine is already doing so (it will send these
// too). With block false each batch gets one write that does not wait; the
// rest of a batch the socket did not take is kept as the head of the queue,
// where it stays (no copy, however long the backlog grows behind it) until
// the writer goroutine or the next send gets it out. Only a blocking write
// returns an error.
func (c *wsConn) send(block bool) error {
	c.qmu.Lock()
	if c.sending {
		c.qmu.Unlock()
		return nil
	}
	c.sending = true
	for len(c.head) > 0 || len(c.queued) > 0 {
		var b []byte
		if len(c.head) > 0 {
			b, c.head = c.head, nil
		} else {
			b = c.queued
			c.queued, c.spare, c.nq = c.spare, nil, 0
		}
		c.qmu.Unlock()
		n, err := len(b), error(nil)
		if block {
			err = c.out.write(b, time.Now().Add(wsWriteTimeout))
		} else {
			n = c.out.tryWrite(b)
		}
		c.qmu.Lock()
		if err != nil {
			c.sending = false
			c.qmu.Unlock()
			return err
		}
		if n < len(b) {
			c.head = b[n:]
			c.sending = false
			c.qmu.Unlock()
			wake(c.wake)
			return nil
		}
		if c.spare == nil && cap(b) <= maxSpare {
			c.spare = b[:0]
		}
	}
	c.sending = false
	c.qmu.Unlock()
	return nil
}

// lockingHijacker hands the websocket library a lockedConn instead of the
// bare connection.
type lockingHijacker struct {
	http.ResponseWriter
	conn *lockedConn
}

func (h *lockingHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = &lockedConn{Conn: nc}
	h.conn.rawWrite = h.conn.writeNow
	if sc, ok := nc.(syscall.Conn); ok {
		h.conn.raw, _ = sc.SyscallConn()
	}
	return h.conn, brw, nil
}

// lockedConn serializes whole writes: the writer's batches of events and
// the library's control frames (pong, close), written from the reader
// goroutine, never interleave.
type lockedConn struct {
	net.Conn
	raw syscall.RawConn // nil if the connection has no descriptor
	mu  sync.Mutex

	// tryWrite's state for rawWrite, a method value made once: a closure
	// per write would be an allocation per batch of events.
	pending  []byte
	written  int
	rawWrite func(fd uintptr) bool
}

func (c *lockedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.Write(p)
}

// write sends p with a deadline.
func (c *lockedConn) write(p []byte, deadline time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Conn.SetWriteDeadline(deadline)
	_, err := c.Conn.Write(p)
	return err
}

// tryWrite writes as much of p as the socket takes without waiting and
// returns how much that was (0 on any error: a blocking write will see it).
func (c *lockedConn) tryWrite(p []byte) int {
	if c.raw == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Conn.SetWriteDeadline(time.Time{}) // a past deadline would refuse the write
	c.pending, c.written = p, 0
	c.raw.Write(c.rawWrite)
	c.pending = nil
	return c.written
}

// writeNow writes as much of c.pending as the socket takes, for tryWrite.
// Caller holds c.mu.
func (c *lockedConn) writeNow(fd uintptr) bool {
	for c.written < len(c.pending) {
		m, err := syscall.Write(int(fd), c.pending[c.written:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil || m <= 0 {
			break
		}
		c.written += m
	}
	return true // done: never wait for the socket
}

func (c *wsConn) readLoop() {
	defer c.s.wg.Done()
	for {
		if _, _, err := c.ws.ReadMessage(); err != nil {
			break
		}
	}
	c.s.mu.Lock()
	c.s.dropConnLocked(c)
	c.s.unlock()
	c.ws.Close()
}

// DropConnections cuts every events websocket at once without a close frame, as a network failure would: the applications
// are unregistered (so new calls are declined) while channels, bridges and recordings stay as they are. It returns how many
// connections were cut. Tests use it to make a controller reconnect and reconcile.
func (s *Server) DropConnections() int {
	s.mu.Lock()
	defer s.unlock()
	n := 0
	for c := range s.conns {
		s.dropConnLocked(c)
		c.ws.Close() // the reader and writer return on their next read or write
		n++
	}
	return n
}
