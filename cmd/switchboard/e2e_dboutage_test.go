package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
	"github.com/switchboard-cc/switchboard/cti/arisim"
)

// tcpProxy forwards connections to a server; cut drops every connection and refuses new ones until restore, the way a
// database that went away looks to its clients.
type tcpProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func startProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *tcpProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			io.Copy(dst, src) //nolint:errcheck // ends when either side closes
			dst.Close()
			src.Close()
			p.mu.Lock()
			delete(p.conns, dst)
			delete(p.conns, src)
			p.mu.Unlock()
		}
		p.wg.Go(func() { pipe(up, c) })
		p.wg.Go(func() { pipe(c, up) })
	}
}

func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
}

func (p *tcpProxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// The database goes away while a call is answered, talks, ends and is wrapped up, and comes back seconds later: the call goes
// on as if nothing happened, and its interaction row ends up complete (answer, outcome, recording, disposition).
func TestE2ECTIDatabaseOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	var proxy *tcpProxy
	s := startCTI(t, ctiOptions{builtin: true, dbURL: func(raw string) string {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		proxy = startProxy(t, u.Host)
		u.Host = proxy.ln.Addr().String()
		return u.String()
	}})
	s.ready("agent1")
	ch, id := s.call(arisim.CallSpec{CallerNumber: "+8613900000098", Dialed: "201"})
	s.waitAgent("agent1", cti.AgentReserved, "")
	s.waitRow(id, func(in *cti.Interaction) error {
		if in.Queue != "general" {
			return fmt.Errorf("queue %q", in.Queue)
		}
		return nil
	})

	proxy.cut()
	down := time.Now()
	leg := s.accept("agent1")
	s.waitBridged(id, ch, leg)
	talk(t, 300*time.Millisecond)
	if err := s.sim.Hangup(ch); err != nil {
		t.Fatal(err)
	}
	s.waitGone(ch, leg)
	s.wrapUp("agent1", id, "resolved", "while the database was away")
	if _, err := s.store.Interaction(ctiCtx(t), id); err == nil {
		t.Fatal("the database answered through the cut proxy")
	}
	time.Sleep(time.Until(down.Add(3 * time.Second)))
	proxy.restore()

	s.waitEnded(id, true)
	in := s.waitRow(id, func(in *cti.Interaction) error {
		if in.Disposition != "resolved" {
			return errors.New("no disposition yet")
		}
		return nil
	})
	if in.Outcome != cti.OutcomeAnswered || in.AgentID != s.ids["agent1"] || in.AnsweredAt.IsZero() || in.BridgeID != "sb-"+id ||
		in.Durations.Talk < 300*time.Millisecond || in.Notes != "while the database was away" {
		t.Errorf("row after the outage: %+v", in)
	}
	s.checkRecording(in, "interaction-"+id)
}
