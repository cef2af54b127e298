package asterisk

import (
	"net"
	"syscall"
	"unsafe"
)

// peeker looks at an idle connection's socket without reading from it. Made once per connection: the check runs before
// every reuse and allocates nothing.
type peeker struct {
	rc  syscall.RawConn
	buf [1]byte
	ok  bool
	fn  func(fd uintptr) bool
}

func newPeeker(nc net.Conn) *peeker {
	if tc, ok := nc.(interface{ NetConn() net.Conn }); ok { // *tls.Conn
		nc = tc.NetConn()
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	p := &peeker{rc: rc}
	p.fn = p.peek
	return p
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
