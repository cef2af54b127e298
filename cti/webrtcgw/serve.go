package webrtcgw

import (
	"context"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// SignalConfig tunes a Signaller; the zero value is fine.
type SignalConfig struct {
	WriteTimeout time.Duration // deadline of each write (default 10 s)
	PingInterval time.Duration // ping period; a page silent for twice this is gone (default 20 s)
	QueueSize    int           // messages waiting for the writer before the page counts as too slow (default 32)
}

// Signaller runs one page's signalling websocket, gorilla-chat style: Run is the one reader, a goroutine Run owns is the one
// writer, every write has a deadline, pings detect a dead page, and a page too slow to take its messages is disconnected (it
// reconnects and re-syncs from the next "state") rather than allowed to stall the engine. It does no authentication: the web
// layer upgrades only an authenticated request (agent session cookie, or the widget's page token under its per-IP rate limit)
// and hands the connection over.
type Signaller struct {
	ws   *websocket.Conn
	cfg  SignalConfig
	out  chan Message
	done chan struct{}

	mu     sync.Mutex
	seq    uint64
	closed bool
}

// NewSignaller wraps an upgraded websocket.
func NewSignaller(ws *websocket.Conn, cfg SignalConfig) *Signaller {
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 20 * time.Second
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 32
	}
	return &Signaller{ws: ws, cfg: cfg, out: make(chan Message, cfg.QueueSize), done: make(chan struct{})}
}

// Send queues m for the page and stamps its Seq. It never blocks: with the queue full the page is disconnected and Send returns
// false, as it does after Close.
func (s *Signaller) Send(m Message) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	s.seq++
	m.Seq = s.seq
	select {
	case s.out <- m:
		s.mu.Unlock()
		return true
	default:
		s.mu.Unlock()
		s.Close()
		return false
	}
}

// Run reads the page's messages until the page leaves, ctx ends or Close is called, and returns why (nil for a normal close).
// Each valid message goes to handle, in order, on Run's goroutine; an invalid one is answered with MsgError and skipped.
func (s *Signaller) Run(ctx context.Context, handle func(Message)) error {
	var wg sync.WaitGroup
	wg.Go(s.writer)
	stop := context.AfterFunc(ctx, s.Close)
	defer func() {
		stop()
		s.Close()
		wg.Wait()
	}()
	wait := 2 * s.cfg.PingInterval
	s.ws.SetReadLimit(MaxMessage)
	_ = s.ws.SetReadDeadline(time.Now().Add(wait))
	s.ws.SetPongHandler(func(string) error { return s.ws.SetReadDeadline(time.Now().Add(wait)) })
	for {
		_, data, err := s.ws.ReadMessage()
		if err != nil {
			select {
			case <-s.done:
				return nil
			default:
			}
			if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
				return nil
			}
			return err
		}
		_ = s.ws.SetReadDeadline(time.Now().Add(wait))
		m, err := ParseClient(data)
		if err != nil {
			s.Send(ErrorMessage(err))
			continue
		}
		handle(m)
	}
}

// Close ends the connection once what was sent before it is written (a hang-up's reason must reach the page), bounded by
// closeFlush; it does not wait. Run returns.
func (s *Signaller) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	close(s.out) // the writer writes what is queued, then the close frame
}

// closeFlush bounds how long a closing signaller spends writing what was queued before it.
const closeFlush = time.Second

func (s *Signaller) writer() {
	ping := time.NewTicker(s.cfg.PingInterval)
	defer ping.Stop()
	var flushBy time.Time // set once Close was called
	defer func() {
		_ = s.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
			time.Now().Add(time.Second))
		close(s.done) // before the reader sees the closed socket: Run then returns nil
		_ = s.ws.Close()
	}()
	for {
		var err error
		select {
		case m, open := <-s.out:
			if !open {
				return
			}
			deadline := time.Now().Add(s.cfg.WriteTimeout)
			s.mu.Lock()
			if s.closed {
				if flushBy.IsZero() {
					flushBy = time.Now().Add(closeFlush)
				}
				deadline = flushBy
			}
			s.mu.Unlock()
			_ = s.ws.SetWriteDeadline(deadline)
			err = s.ws.WriteJSON(m)
		case <-ping.C:
			err = s.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(s.cfg.WriteTimeout))
		}
		if err != nil {
			s.Close() // a dead page: what is still queued is dropped
			return
		}
	}
}
