//go:build !linux

package h1

import (
	"io"
	"net"
)

// newSockIO returns nc: the raw socket path (sockio_linux.go) is Linux's.
func newSockIO(nc net.Conn) io.ReadWriter { return nc }
