//go:build !unix

package h1

// alive cannot peek at a socket here (alive_unix.go): it answers false, so
// that a request body, which cannot be sent twice, always goes out on a
// new connection.
func (cc *clientConn) alive() bool { return false }

// canPeek: idle connections are reused without a look (Client.get).
const canPeek = false
