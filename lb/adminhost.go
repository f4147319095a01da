package lb

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"stickylab/internal/jsonhttp"
)

// adminHostCheck lets through to next only the requests whose Host names
// localhost, a loopback address (127.0.0.0/8, ::1) or one of
// Config.AdminHosts, with any port; any other gets 421 Misdirected Request
// (RFC 9110, 15.5.20) with a JSON error.
//
// Why: DNS rebinding. A page on evil.example can have its name resolve to
// 127.0.0.1 once loaded; the browser then sends the page's requests, which
// it takes for same-origin (so http.CrossOriginProtection lets them
// through), to the admin listener with Host: evil.example. A browser that
// opened the dashboard itself sends the name it used, which is loopback,
// localhost (a port published by a container included) or a name the
// operator listed.
func (b *Balancer) adminHostCheck(next http.Handler) http.Handler {
	allowed := make(map[string]bool, len(b.cfg.AdminHosts))
	for _, h := range b.cfg.AdminHosts {
		allowed[hostName(h)] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name := hostName(r.Host); !allowed[name] && !isLocalHost(name) {
			jsonhttp.Error(w, http.StatusMisdirectedRequest, fmt.Sprintf("the admin API does not answer to host %q: open it as localhost or a loopback address, or give the name as an admin host (-admin-host)", r.Host))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hostName is the host of a Host value without its port or the brackets
// of an IPv6 literal, in lower case, without a final dot.
func hostName(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// isLocalHost reports whether name is localhost or a loopback address.
func isLocalHost(name string) bool {
	if name == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(name)
	return err == nil && ip.Unmap().IsLoopback()
}

// validateAdminHost checks one of Config.AdminHosts: a host name or
// address, with a port or not.
func validateAdminHost(h string) error {
	if hostName(h) == "" || strings.ContainsAny(h, "/,@ \t") {
		return errors.New("must be a host name or address, e.g. lb.internal or 10.0.0.5 (no scheme, path or list)")
	}
	return nil
}
