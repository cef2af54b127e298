package asterisk

import (
	"net"
	"syscall"
)

// alive reports whether an idle connection is still open: a non-blocking peek finds nothing to read (EAGAIN). An end of
// stream means the server closed it; bytes mean the server sent something nobody asked for, so the connection is out of
// step either way.
func alive(nc net.Conn) bool {
	if tc, ok := nc.(interface{ NetConn() net.Conn }); ok { // *tls.Conn
		nc = tc.NetConn()
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	ok = false
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		ok = err == syscall.EAGAIN
		return true // never wait
	})
	return err == nil && ok
}
