// Package h1 is an HTTP/1.1 engine for a reverse proxy, faster than
// net/http's for small requests on kept-alive connections, and knowing
// nothing of what it proxies for: a Server that runs a handler per request,
// a Client that sends requests to one address over kept-alive connections,
// and a ReverseProxy, httputil.ReverseProxy with a direct path for the
// Server's plain requests.
//
// Where it departs from net/http, and why, is said where it does so:
// server.go (one goroutine per connection, no background read), head.go
// (heads parsed without per-line allocations), sockio_linux.go (raw
// system calls through the runtime's poller; other systems use net.Conn),
// client.go (the exchange on the request's own goroutine) and proxy.go
// (the direct path). Everything it takes on is checked against net/http's
// answer by its tests: the parsers against http.ReadRequest and
// http.ReadResponse (corpus and fuzz), the Server's refusals against
// http.Server's, the direct path against httputil.ReverseProxy.
//
// Per-request state is explicit: a request sent while serving a Server's
// client gets that connection's Options (OptionsFor) and gives them to
// Client.Do; nothing is passed through a context.
package h1
