package arisim

import (
	"bufio"
	"net"
	"net/http"
	"sync"
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
// bounded send queue, both goroutines owned by the Server.
type wsConn struct {
	s         *Server
	ws        *websocket.Conn
	out       *batchConn // under ws: lets the writer send queued frames in one write
	send      chan []byte
	done      chan struct{}
	closeOnce sync.Once
	apps      []string // apps this connection still holds
}

func (c *wsConn) enqueue(b []byte) bool {
	select {
	case <-c.done:
		return true
	default:
	}
	select {
	case c.send <- b:
		return true
	default:
		return false
	}
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
	s.mu.Unlock()
	if closed {
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		return
	}
	hj := &batchHijacker{ResponseWriter: w}
	ws, err := upgrader.Upgrade(hj, r, nil)
	if err != nil {
		return
	}
	c := &wsConn{s: s, ws: ws, out: hj.conn, send: make(chan []byte, s.cfg.EventQueue), done: make(chan struct{})}
	apps := q.list("app")
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
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
		s.mu.Unlock()
		return
	}
	subscribeAll := q.bool("subscribeAll", false)
	for _, name := range apps {
		reg := s.apps[name]
		if reg == nil {
			reg = &appReg{name: name, endpoints: map[string]bool{}, devices: map[string]bool{}, channels: map[string]bool{}, bridges: map[string]bool{}}
			s.apps[name] = reg
		}
		if old := reg.conn; old != nil && old != c {
			b, _ := marshal((&event{typ: "ApplicationReplaced", ts: s.now(), order: orderAppBeforeID}).render(name, s.cfg.AsteriskID))
			old.enqueue(b)
			old.apps = remove(old.apps, name)
		}
		reg.conn = c
		reg.subscribeAll = subscribeAll
		c.apps = append(c.apps, name)
	}
	s.mu.Unlock()
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
		case b := <-c.send:
			if err := c.writeBatch(b); err != nil {
				c.s.mu.Lock()
				c.s.dropConnLocked(c)
				c.s.mu.Unlock()
				return
			}
		case <-c.done:
			// Flush what is queued (e.g. ApplicationReplaced, MissingParams), then close.
			for {
				select {
				case b := <-c.send:
					if c.writeBatch(b) != nil {
						return
					}
					continue
				default:
				}
				break
			}
			c.ws.SetWriteDeadline(time.Now().Add(time.Second))
			c.ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
			return
		}
	}
}

// maxBatch bounds how much the writer collects before a write(2).
const maxBatch = 64 << 10

// writeBatch writes b and whatever else is already queued as separate
// frames (each event stays one message, as Asterisk sends them) but with
// as few socket writes as the queue allows: under load one write carries
// many events instead of one each.
func (c *wsConn) writeBatch(b []byte) error {
	c.ws.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
	c.out.begin()
	err := c.ws.WriteMessage(websocket.TextMessage, b)
	for err == nil && c.out.pending() < maxBatch {
		var more bool
		select {
		case b, more = <-c.send:
		default:
		}
		if !more {
			break
		}
		err = c.ws.WriteMessage(websocket.TextMessage, b)
	}
	if ferr := c.out.end(); err == nil {
		err = ferr
	}
	return err
}

// batchHijacker hands the websocket library a batchConn instead of the
// bare connection.
type batchHijacker struct {
	http.ResponseWriter
	conn *batchConn
}

func (h *batchHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = &batchConn{Conn: nc}
	return h.conn, brw, nil
}

// batchConn passes writes straight through, except between begin and end,
// when it collects them and end sends them in one write. The mutex keeps
// the library's control frames (pong, close), written from the reader
// goroutine, from interleaving with a batch being sent.
type batchConn struct {
	net.Conn
	mu       sync.Mutex
	batching bool
	buf      []byte
}

func (c *batchConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.batching {
		c.buf = append(c.buf, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (c *batchConn) begin() {
	c.mu.Lock()
	c.batching = true
	c.mu.Unlock()
}

func (c *batchConn) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.buf)
}

// end sends what was collected and returns to writing through.
func (c *batchConn) end() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batching = false
	if len(c.buf) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.buf)
	if cap(c.buf) > 4*maxBatch {
		c.buf = nil // don't keep a burst's buffer for the connection's life
	} else {
		c.buf = c.buf[:0]
	}
	return err
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
	c.s.mu.Unlock()
	c.ws.Close()
}

// DropConnections cuts every events websocket at once without a close frame, as a network failure would: the applications
// are unregistered (so new calls are declined) while channels, bridges and recordings stay as they are. It returns how many
// connections were cut. Tests use it to make a controller reconnect and reconcile.
func (s *Server) DropConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for c := range s.conns {
		s.dropConnLocked(c)
		c.ws.Close() // the reader and writer return on their next read or write
		n++
	}
	return n
}
