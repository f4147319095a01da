package lab

import (
	"cmp"
	"fmt"
	"io"
	"net"
	"strings"
	"text/tabwriter"

	"stickylab/internal/duration"
	"stickylab/lb"
)

// banner is what the demo prints once everything runs.
type banner struct {
	proxy, admin string // host:port
	redis        string // URL
	embedded     bool
	stickiness   lb.Stickiness
	routing      []string // a setup's or file's rules and groups, told instead of stickiness
	lb           lb.Config
	instances    []Instance
	store        string
	lwwNote      bool      // -cas=false: say that compare-and-set is off
	nodes        []*lbNode // the balancer nodes after the first (-lb-nodes)
}

// LocalURL is the http URL, without a path, at which a browser on this
// machine reaches a listener on addr (host:port). A listener on every
// interface (an empty host, 0.0.0.0 or ::) takes 127.0.0.1 too: its own
// address, http://[::]:8080, is where it listens, not one to open.
func LocalURL(addr string) string {
	if host, port, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
	}
	return "http://" + addr
}

func writeBanner(w io.Writer, b banner) {
	app, admin := LocalURL(b.proxy), LocalURL(b.admin)
	var s strings.Builder
	s.WriteString("stickylab demo: sticky sessions, live\n\n")
	row := func(label, value, note string) { fmt.Fprintf(&s, "  %-11s %-27s %s\n", label, value, note) }
	where := "given with -redis-url"
	if b.embedded {
		where = "embedded (miniredis)"
	}
	row("app", app+"/", "the shop, through the balancer: open this one")
	for _, n := range b.nodes {
		row(n.name, LocalURL(n.ln.Addr().String())+"/", "the same shop through another balancer node: same cookie keys and instances, its own health checks")
	}
	row("admin", admin+"/", "dashboard and admin API (targets, events, instances)")
	row("redis", b.redis, where)
	fmt.Fprintf(&s, "  %-11s %s\n", "store", describeStore(b.store))
	if b.lwwNote {
		fmt.Fprintf(&s, "  %-11s %s\n", "", "compare-and-set off (-cas=false): concurrent changes to one session are lost, last writer wins")
	}
	if len(b.routing) == 0 {
		fmt.Fprintf(&s, "  %-11s %s\n", "stickiness", describeStickiness(b.stickiness))
	}
	for i, line := range b.routing {
		fmt.Fprintf(&s, "  %-11s %s\n", map[bool]string{true: "routing"}[i == 0], line)
	}
	fmt.Fprintf(&s, "  %-11s %s\n", "balancer", describeBalancer(b.lb))
	fmt.Fprintf(&s, "  %-11s %s\n", "health", describeHealth(b.lb))

	s.WriteString("\n")
	tw := tabwriter.NewWriter(&s, 2, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "  INSTANCE\tPID\tURL\tSTORE")
	for _, in := range b.instances {
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\n", in.Name, in.PID, in.URL, in.Store)
	}
	tw.Flush()

	first := b.instances[0]
	jar := "curl -s -c jar.txt -b jar.txt"
	fmt.Fprintf(&s, "\nTry this first, in another terminal (or do the same in a browser at %s/):\n", app)
	fmt.Fprintf(&s, "  1. log in, then ask who answers:\n")
	fmt.Fprintf(&s, "       %s -H 'Content-Type: application/json' -d '{\"username\":\"ada\"}' %s/api/login\n", jar, app)
	fmt.Fprintf(&s, "       %s %s/api/session\n", jar, app)
	fmt.Fprintf(&s, "  2. kill the instance named in \"instance\" (or kill -9 its PID above); for %s that is:\n", first.Name)
	fmt.Fprintf(&s, "       curl -s -X POST %s/api/instances/%s/kill\n", admin, first.Name)
	switch b.store {
	case "redis":
		fmt.Fprintf(&s, "  3. ask again: still logged in, the session lives in redis:\n")
	case "cookie":
		fmt.Fprintf(&s, "  3. ask again: still logged in, the session lives in your cookie (jar.txt):\n")
	default:
		fmt.Fprintf(&s, "  3. ask again: \"logged_in\":false, the session died with the instance:\n")
	}
	fmt.Fprintf(&s, "       %s %s/api/session\n", jar, app)
	switch b.store {
	case "redis":
		fmt.Fprintf(&s, "  4. bring it back (the same name): a new process, its sessions still in redis:\n")
	case "cookie":
		fmt.Fprintf(&s, "  4. bring it back (the same name): a new process; it never held a session:\n")
	default:
		fmt.Fprintf(&s, "  4. bring it back, empty (the same name): a new process, a new memory:\n")
	}
	fmt.Fprintf(&s, "       curl -s -X POST %s/api/instances/%s/restart\n", admin, first.Name)
	if b.store != "memory" {
		fmt.Fprintf(&s, "  Then compare: curl -s -X PUT -d '{\"store\":\"memory\"}' %s/api/store (restarts every instance).\n", admin)
	} else {
		fmt.Fprintf(&s, "  Then run again with -store redis, or switch now: curl -s -X PUT -d '{\"store\":\"redis\"}' %s/api/store\n", admin)
		fmt.Fprintf(&s, "  (that restarts every instance and logs everyone out; add \"migrate\":true to switch in place and log nobody out)\n")
	}
	s.WriteString("  Ctrl-C stops everything.\n\nWhat happens, one line per event:\n")
	io.WriteString(w, s.String())
}

func describeStickiness(s lb.Stickiness) string {
	switch s.Mode {
	case lb.StickyDuration:
		return fmt.Sprintf("duration: the balancer's cookie AWSALB keeps a client on its instance for %s", duration.Short(s.Duration))
	case lb.StickyApp:
		return fmt.Sprintf("app: AWSALBAPP-0 keeps a client on its instance while it has the app's cookie %s, for %s", s.AppCookie, duration.Short(s.Duration))
	}
	return "none: every request may go to another instance (ALB's default)"
}

func describeBalancer(c lb.Config) string {
	failover := "passive failover on: a request the dead instance refuses is retried on another"
	if !c.PassiveFailover {
		failover = "passive failover off, like ALB: 502 until the health check notices"
	}
	return cmp.Or(c.Algorithm, lb.RoundRobin) + "; " + failover
}

func describeHealth(c lb.Config) string {
	return fmt.Sprintf("GET %s every %s; unhealthy after %d failures, healthy again after %d passes",
		cmp.Or(c.HealthPath, lb.DefaultHealthPath), duration.Short(cmp.Or(c.HealthInterval, lb.DefaultHealthInterval)),
		cmp.Or(c.UnhealthyThreshold, lb.DefaultUnhealthyThreshold), cmp.Or(c.HealthyThreshold, lb.DefaultHealthyThreshold))
}

func describeStore(store string) string {
	switch store {
	case "redis":
		return "redis: every instance reads the same sessions"
	case "cookie":
		return "cookie: each session, encrypted, in the browser's cookie; no instance keeps any"
	}
	return "memory: each instance keeps its own sessions (the blog's setup)"
}
