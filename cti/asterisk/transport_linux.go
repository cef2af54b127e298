package asterisk

import (
	"net"
	"os"
	"syscall"
	"unsafe"
)

// peeker looks at an idle connection's socket without reading from it, and sends requests on it. Made once per
// connection: the check runs before every reuse, the send on every request, and neither allocates.
type peeker struct {
	rc  syscall.RawConn
	buf [1]byte
	ok  bool
	fn  func(fd uintptr) bool

	direct bool // the socket carries the requests as they are (no TLS): sendAwait may write them to it
	out    []byte
	sent   int
	first  bool
	err    error
	sendFn func(fd uintptr) bool
}

func newPeeker(nc net.Conn) *peeker {
	direct := true
	if tc, ok := nc.(interface{ NetConn() net.Conn }); ok { // *tls.Conn
		nc = tc.NetConn()
		direct = false
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	p := &peeker{rc: rc, direct: direct}
	p.fn = p.peek
	p.sendFn = p.sendThenWait
	return p
}

// sendAwait writes b to the socket and waits until the socket is readable, and returns how much of b it wrote (the rest,
// if the socket's send buffer filled up, is the caller's to write; 0 over TLS). The write is made inside RawConn.Read,
// after the read's readiness was reset, so a response that arrives at once is not missed; the wait honours the
// connection's deadline, as a read does.
func (p *peeker) sendAwait(b []byte) (int, error) {
	if p == nil || !p.direct {
		return 0, nil
	}
	p.out, p.sent, p.first, p.err = b, 0, true, nil
	err := p.rc.Read(p.sendFn)
	n := p.sent
	if p.err != nil {
		err = p.err
	}
	p.out, p.err = nil, nil
	return n, err
}

func (p *peeker) sendThenWait(fd uintptr) bool {
	if !p.first {
		return true // readable, or woken for another reason: the read that follows waits if need be
	}
	p.first = false
	for p.sent < len(p.out) {
		n, err := syscall.Write(int(fd), p.out[p.sent:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			if err != nil && err != syscall.EAGAIN {
				p.err = os.NewSyscallError("write", err)
			}
			return true // EAGAIN: the send buffer is full; the caller writes the rest as usual
		}
		p.sent += n
	}
	return false // sent: wait for the response
}

// alive reports whether the connection is still open: a non-blocking peek finds nothing to read (EAGAIN). An end of
// stream means the server closed it; bytes mean the server sent something nobody asked for, so the connection is out of
// step either way.
func (p *peeker) alive() bool {
	if p == nil {
		return true
	}
	return p.rc.Read(p.fn) == nil && p.ok
}

func (p *peeker) peek(fd uintptr) bool {
	// recv(2) with MSG_PEEK|MSG_DONTWAIT; the raw call, as syscall.Recvfrom allocates the peer's address.
	_, _, errno := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&p.buf[0])), 1,
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	p.ok = errno == syscall.EAGAIN
	return true // done: never wait for the socket
}
