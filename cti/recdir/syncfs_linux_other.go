//go:build linux && !amd64 && !386

package recdir

import "syscall"

const sysSyncfs = syscall.SYS_SYNCFS
