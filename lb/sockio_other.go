//go:build !linux

package lb

import (
	"io"
	"net"
)

// newSockIO returns nc: the raw socket path (sockio_linux.go) is Linux's.
func newSockIO(nc net.Conn) io.ReadWriter { return nc }
