//go:build unix

package h1

import (
	"errors"
	"syscall"
)

// canPeek: alive tells a closed connection from a live one.
const canPeek = true

// alive peeks at an idle connection without blocking: a connection the
// target closed or reset reads EOF or an error at once, a live one has
// nothing to read (EAGAIN).
func (cc *clientConn) alive() bool {
	if cc.br.Buffered() > 0 {
		return false // bytes nobody asked for: not a clean keep-alive connection
	}
	if cc.peeker != nil {
		return cc.peeker.alive()
	}
	sc, ok := cc.nc.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var rerr error
	var buf [1]byte
	raw.Read(func(fd uintptr) bool {
		_, _, rerr = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true
	})
	return errors.Is(rerr, syscall.EAGAIN)
}
