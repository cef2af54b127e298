//go:build !linux

package asterisk

import "net"

// peeker cannot look at a socket without blocking here: an idle connection is taken as open, and a request that finds it
// closed fails (or, if idempotent, is sent again on a new connection).
type peeker struct{}

func newPeeker(net.Conn) *peeker { return nil }

func (*peeker) alive() bool { return true }

// sendAwait writes nothing here: the caller writes the request and reads its response as usual.
func (*peeker) sendAwait([]byte) (int, error) { return 0, nil }
