package listener

import (
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Listener protocols, the values of Listener.Protocol.
const (
	HTTP  = "HTTP"
	HTTPS = "HTTPS" // TLS, with HTTP/2 offered to clients
)

// Listener defaults and ALB's ranges.
const (
	DefaultListen      = ":8080"
	DefaultIdleTimeout = 60 * time.Second // ALB's idle_timeout.timeout_seconds
	MinIdleTimeout     = time.Second
	MaxIdleTimeout     = 4000 * time.Second
	MinPriority        = 1
	MaxPriority        = 50000
	MaxRules           = 100 // ALB's quota of rules per load balancer, the default rule aside
)

// Listener is ALB's listener (Terraform's aws_lb_listener) with its rules
// (aws_lb_listener_rule).
type Listener struct {
	// Listen is the host:port the listener accepts on, default :8080.
	Listen string
	// Protocol is HTTP (default) or HTTPS.
	Protocol string
	// Certificate is the HTTPS listener's certificate; nil with HTTP.
	Certificate *Certificate
	// HTTPRedirect, with HTTPS, is the host:port of a plain HTTP listener
	// that redirects every request to this one (301), as ALB's usual port
	// 80 listener does; empty: none.
	HTTPRedirect string
	// IdleTimeout is ALB's connection idle timeout (the load balancer's
	// idle_timeout.timeout_seconds attribute), 1s to 4000s, default 60s.
	IdleTimeout time.Duration
	// DefaultAction is done when no rule matches.
	DefaultAction Action
	// Rules are sorted by priority, lowest first, as ALB evaluates them.
	Rules []Rule
}

// Certificate is an HTTPS listener's certificate: PEM files, or one made
// at start for local use (SelfSigned). Relative file names are relative
// to the configuration file's directory.
type Certificate struct {
	CertFile, KeyFile string
	SelfSigned        bool
}

// Rule is one listener rule: when all its Conditions hold, Action is done.
type Rule struct {
	Priority   int // 1 to 50000, unique
	Conditions Conditions
	Action     Action
}

// Match returns the action for r, which came from remoteIP (the
// connection's address; ALB's source-ip does not read X-Forwarded-For),
// and the priority of the rule that matched, or 0 for the default action.
// Rules are tried by priority, lowest first. Match is pure and safe for
// concurrent use.
func (l *Listener) Match(r *http.Request, remoteIP netip.Addr) (*Action, int) {
	for i := range l.Rules {
		if rule := &l.Rules[i]; rule.Conditions.Match(r, remoteIP) {
			return &rule.Action, rule.Priority
		}
	}
	return &l.DefaultAction, 0
}

// Port returns the port of Listen, what a redirect's #{port} stands for;
// 0 when Listen asks for any free port.
func (l *Listener) Port() int {
	_, port, _ := net.SplitHostPort(l.Listen)
	n, _ := strconv.Atoi(port)
	return n
}

var listenerKeys = []string{"listen", "protocol", "certificate", "http_redirect", "idle_timeout", "default_action", "rules"}

// listener decodes the listener mapping.
func (d *decoder) listener(n *yaml.Node, field string, groups map[string]*TargetGroup) (Listener, error) {
	l := Listener{Listen: DefaultListen, Protocol: HTTP, IdleTimeout: DefaultIdleTimeout}
	var cert, defaultAction, httpRedirect *yaml.Node
	d.https = protocolOf(n) == HTTPS // known before the redirects that it restricts
	err := d.fields(n, field, listenerKeys, func(key string, v *yaml.Node) error {
		f := join(field, key)
		var err error
		switch key {
		case "listen":
			if l.Listen, err = d.str(v, f); err == nil {
				err = d.listenAddr(v, f, l.Listen)
			}
		case "protocol":
			if l.Protocol, err = d.str(v, f); err == nil {
				err = d.oneOf(v, f, l.Protocol, HTTP, HTTPS)
			}
		case "certificate":
			cert = v
			l.Certificate, err = d.certificate(v, f)
		case "http_redirect":
			httpRedirect = v
			if l.HTTPRedirect, err = d.str(v, f); err == nil {
				err = d.listenAddr(v, f, l.HTTPRedirect)
			}
		case "idle_timeout":
			l.IdleTimeout, err = d.seconds(v, f, MinIdleTimeout, MaxIdleTimeout)
		case "default_action":
			defaultAction = v
			l.DefaultAction, err = d.action(v, f, groups)
		case "rules":
			l.Rules, err = d.rules(v, f, groups)
		}
		return err
	})
	switch {
	case err != nil:
		return Listener{}, err
	case defaultAction == nil:
		return Listener{}, d.missing(n, field, "default_action", "what to do when no rule matches, e.g. {forward: {target_group: web}}")
	case l.Protocol == HTTPS && cert == nil:
		return Listener{}, d.missing(n, field, "certificate", "{cert_file, key_file} or {self_signed: true} with protocol: HTTPS")
	case l.Protocol == HTTP && cert != nil:
		return Listener{}, d.fail(cert, join(field, "certificate"), "is only allowed with protocol: HTTPS")
	case l.Protocol == HTTP && httpRedirect != nil:
		return Listener{}, d.fail(httpRedirect, join(field, "http_redirect"), "is only allowed with protocol: HTTPS (a plain HTTP listener that redirects to it)")
	}
	if l.Certificate != nil && d.dir != "" {
		for _, f := range []*string{&l.Certificate.CertFile, &l.Certificate.KeyFile} {
			if *f != "" && !filepath.IsAbs(*f) {
				*f = filepath.Join(d.dir, *f)
			}
		}
	}
	slices.SortStableFunc(l.Rules, func(a, b Rule) int { return a.Priority - b.Priority })
	return l, nil
}

// protocolOf returns the value of the mapping n's protocol key.
func protocolOf(n *yaml.Node) string {
	if v := valueOf(n, "protocol"); v != nil {
		return v.Value
	}
	return ""
}

// listenAddr checks a host:port to listen on.
func (d *decoder) listenAddr(v *yaml.Node, field, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil || n < 0 || n > 65535 {
		return d.fail(v, field, "%q is not allowed; want host:port such as 127.0.0.1:8080 or :8080 (port 0 to 65535)", addr)
	}
	return nil
}

var certificateKeys = []string{"cert_file", "key_file", "self_signed"}

func (d *decoder) certificate(n *yaml.Node, field string) (*Certificate, error) {
	c := &Certificate{}
	var selfSigned *yaml.Node
	err := d.fields(n, field, certificateKeys, func(key string, v *yaml.Node) error {
		f := join(field, key)
		var err error
		switch key {
		case "cert_file":
			c.CertFile, err = d.str(v, f)
		case "key_file":
			c.KeyFile, err = d.str(v, f)
		case "self_signed":
			selfSigned = v
			c.SelfSigned, err = d.boolean(v, f)
		}
		return err
	})
	switch {
	case err != nil:
		return nil, err
	case c.SelfSigned && (c.CertFile != "" || c.KeyFile != ""):
		return nil, d.fail(selfSigned, join(field, "self_signed"), "give either self_signed: true or cert_file and key_file, not both")
	case !c.SelfSigned && (c.CertFile == "" || c.KeyFile == ""):
		return nil, d.fail(resolve(n), field, "want both cert_file and key_file (PEM), or self_signed: true")
	}
	return c, nil
}

var ruleKeys = []string{"priority", "conditions", "action"}

// rules decodes the listener's rules, in file order.
func (d *decoder) rules(v *yaml.Node, field string, groups map[string]*TargetGroup) ([]Rule, error) {
	items, err := d.list(v, field, "rules {priority, conditions, action}")
	if err != nil {
		return nil, err
	}
	if len(items) > MaxRules {
		return nil, d.fail(v, field, "%d rules; ALB allows at most %d besides the default action", len(items), MaxRules)
	}
	rules := make([]Rule, len(items))
	byPriority := make(map[int]int, len(items))
	for i, item := range items {
		f := index(field, i)
		var conditions, action *yaml.Node
		r := &rules[i]
		err := d.fields(item, f, ruleKeys, func(key string, v *yaml.Node) error {
			var err error
			switch key {
			case "priority":
				if r.Priority, err = d.integer(v, join(f, key), MinPriority, MaxPriority); err != nil {
					return err
				}
				if j, dup := byPriority[r.Priority]; dup {
					return d.fail(v, join(f, key), "%d is already the priority of %s; priorities must be unique (%d to %d)", r.Priority, index(field, j), MinPriority, MaxPriority)
				}
				byPriority[r.Priority] = i
			case "conditions":
				conditions = v
				r.Conditions, err = d.conditions(v, join(f, key))
			case "action":
				action = v
				r.Action, err = d.action(v, join(f, key), groups)
			}
			return err
		})
		switch {
		case err != nil:
			return nil, err
		case r.Priority == 0:
			return nil, d.missing(item, f, "priority", "a whole number from 1 to 50000, unique; lower ones are tried first")
		case conditions == nil:
			return nil, d.missing(item, f, "conditions", "at least one of "+strings.Join(conditionKeys, ", "))
		case action == nil:
			return nil, d.missing(item, f, "action", "forward, redirect or fixed_response")
		}
	}
	return rules, nil
}
