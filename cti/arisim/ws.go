package arisim

import (
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
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &wsConn{s: s, ws: ws, send: make(chan []byte, s.cfg.EventQueue), done: make(chan struct{})}
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
			c.ws.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
			if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
				c.s.mu.Lock()
				c.s.dropConnLocked(c)
				c.s.mu.Unlock()
				return
			}
		case <-c.done:
			// Flush what is queued (e.g. ApplicationReplaced, MissingParams), then close.
		flush:
			for {
				select {
				case b := <-c.send:
					c.ws.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
					if c.ws.WriteMessage(websocket.TextMessage, b) != nil {
						return
					}
				default:
					break flush
				}
			}
			c.ws.SetWriteDeadline(time.Now().Add(time.Second))
			c.ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
			return
		}
	}
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
