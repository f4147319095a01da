package listener

import (
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ALB's limits on actions.
const (
	MaxWeightedGroups = 5
	MaxWeight         = 999
	MaxMessageBody    = 1024
	maxRedirectPart   = 128
)

// fixedContentTypes are the content types ALB's fixed-response allows.
var fixedContentTypes = []string{"text/plain", "text/css", "text/html", "application/javascript", "application/json"}

var actionKeys = []string{"forward", "redirect", "fixed_response"}

// action decodes an action: one of forward, redirect, fixed_response.
// groups are the file's target groups, for the references.
func (d *decoder) action(n *yaml.Node, field string, groups map[string]*TargetGroup) (Action, error) {
	var a Action
	var first string
	err := d.fields(n, field, actionKeys, func(key string, v *yaml.Node) error {
		if first != "" {
			return d.fail(v, join(field, key), "an action is one of forward, redirect or fixed_response; this one is already %s", first)
		}
		first = key
		f := join(field, key)
		var err error
		switch key {
		case "forward":
			a.Forward, err = d.forward(v, f, groups)
		case "redirect":
			a.Redirect, err = d.redirect(v, f)
		case "fixed_response":
			a.FixedResponse, err = d.fixedResponse(v, f)
		}
		return err
	})
	if err == nil && first == "" {
		err = d.fail(resolve(n), field, "want one of forward, redirect or fixed_response")
	}
	return a, err
}

var forwardKeys = []string{"target_group", "target_groups", "stickiness"}
var weightedKeys = []string{"name", "weight"}
var groupStickinessKeys = []string{"enabled", "duration"}

func (d *decoder) forward(n *yaml.Node, field string, groups map[string]*TargetGroup) (*Forward, error) {
	fw := &Forward{}
	var single, weighted, sticky *yaml.Node
	err := d.fields(n, field, forwardKeys, func(key string, v *yaml.Node) error {
		f := join(field, key)
		switch key {
		case "target_group":
			single = v
			name, err := d.groupRef(v, f, groups)
			fw.TargetGroups = append(fw.TargetGroups, WeightedGroup{Name: name, Weight: 1})
			return err
		case "target_groups":
			weighted = v
			return d.weightedGroups(v, f, groups, fw)
		case "stickiness":
			sticky = v
			fw.Stickiness = GroupStickiness{Enabled: true, Duration: DefaultStickyDuration}
			return d.fields(v, f, groupStickinessKeys, func(key string, v *yaml.Node) error {
				var err error
				if key == "enabled" {
					fw.Stickiness.Enabled, err = d.boolean(v, join(f, key))
				} else {
					fw.Stickiness.Duration, err = d.seconds(v, join(f, key), MinStickyDuration, MaxStickyDuration)
				}
				return err
			})
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, err
	case single != nil && weighted != nil:
		return nil, d.fail(weighted, join(field, "target_groups"), "give either target_group or target_groups, not both")
	case single == nil && weighted == nil:
		return nil, d.missing(n, field, "target_group", "a target group's name, or target_groups: [{name, weight}, ...]")
	case sticky != nil && weighted == nil:
		return nil, d.fail(sticky, join(field, "stickiness"), "group stickiness needs target_groups: [{name, weight}, ...]")
	}
	return fw, nil
}

// groupRef reads the name of a target group that the file defines.
func (d *decoder) groupRef(v *yaml.Node, field string, groups map[string]*TargetGroup) (string, error) {
	name, err := d.str(v, field)
	if err != nil {
		return "", err
	}
	if groups[name] == nil {
		names := make([]string, 0, len(groups))
		for n := range groups {
			names = append(names, n)
		}
		slices.Sort(names)
		known := "none is defined"
		if len(names) > 0 {
			known = "defined: " + strings.Join(names, ", ")
		}
		return "", d.fail(v, field, "no target group is named %q (%s)", name, known)
	}
	return name, nil
}

func (d *decoder) weightedGroups(v *yaml.Node, field string, groups map[string]*TargetGroup, fw *Forward) error {
	items, err := d.list(v, field, "{name, weight} items")
	if err != nil {
		return err
	}
	if len(items) == 0 || len(items) > MaxWeightedGroups {
		return d.fail(v, field, "%d target groups; want 1 to %d (ALB's limit)", len(items), MaxWeightedGroups)
	}
	seen := map[string]int{}
	total := 0
	for i, item := range items {
		f := index(field, i)
		wg := WeightedGroup{Weight: 1}
		err := d.fields(item, f, weightedKeys, func(key string, v *yaml.Node) error {
			var err error
			if key == "name" {
				wg.Name, err = d.groupRef(v, join(f, key), groups)
			} else {
				wg.Weight, err = d.integer(v, join(f, key), 0, MaxWeight)
			}
			return err
		})
		switch {
		case err != nil:
			return err
		case wg.Name == "":
			return d.missing(item, f, "name", "the name of a target group")
		}
		if j, dup := seen[wg.Name]; dup {
			return d.fail(item, f, "%q is already %s; each group once", wg.Name, index(field, j))
		}
		seen[wg.Name] = i
		total += wg.Weight
		fw.TargetGroups = append(fw.TargetGroups, wg)
	}
	if total == 0 {
		return d.fail(v, field, "every weight is 0: the forward could send no request; give one group a weight from 1 to %d", MaxWeight)
	}
	if len(items) > 1 {
		for i, wg := range fw.TargetGroups {
			if s := groups[wg.Name].Stickiness; s.Enabled && s.Type == AppCookie {
				return d.fail(items[i], index(field, i), "target group %q has app_cookie stickiness, which ALB does not support with weighted target groups; use lb_cookie, or forward to it alone", wg.Name)
			}
		}
	}
	return nil
}

var redirectKeys = []string{"protocol", "host", "port", "path", "query", "status_code"}

// placeholders are ALB's #{...} keywords and the components each may be
// used in.
var placeholders = map[string][]string{
	"protocol": {"protocol", "query"},
	"host":     {"host", "path", "query"},
	"port":     {"port", "path", "query"},
	"path":     {"path", "query"},
	"query":    {"query"},
}

var placeholder = regexp.MustCompile(`#\{([^}]*)\}`)

// redirectDefaults are ALB's: the request's own components.
var redirectDefaults = map[string]string{"protocol": "#{protocol}", "host": "#{host}", "port": "#{port}", "path": "/#{path}", "query": "#{query}"}

func (d *decoder) redirect(n *yaml.Node, field string) (*Redirect, error) {
	parts := maps.Clone(redirectDefaults)
	status := 0
	err := d.fields(n, field, redirectKeys, func(key string, v *yaml.Node) error {
		f := join(field, key)
		if key == "port" && v.ShortTag() == "!!int" {
			v = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v.Value, Line: v.Line, Column: v.Column}
		}
		s, err := d.str(v, f)
		if err != nil {
			return err
		}
		if key == "status_code" {
			if err := d.oneOf(v, f, s, "HTTP_301", "HTTP_302"); err != nil {
				return err
			}
			status, _ = strconv.Atoi(strings.TrimPrefix(s, "HTTP_"))
			return nil
		}
		if problem := redirectPart(key, s); problem != "" {
			return d.fail(v, f, "%q is not allowed; %s", s, problem)
		}
		if key == "protocol" && s == HTTP && d.https {
			return d.fail(v, f, "an HTTPS listener cannot redirect to HTTP (ALB's rule); want HTTPS or #{protocol}")
		}
		for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
			if !slices.Contains(placeholders[m[1]], key) {
				return d.fail(v, f, "%s cannot be used in %s; ALB allows #{protocol} in protocol and query, #{host} in host, path and query, #{port} in port, path and query, #{path} in path and query, #{query} in query", m[0], key)
			}
		}
		parts[key] = s
		return nil
	})
	switch {
	case err != nil:
		return nil, err
	case status == 0:
		return nil, d.missing(n, field, "status_code", "HTTP_301 or HTTP_302")
	case parts["protocol"] == redirectDefaults["protocol"] && parts["host"] == redirectDefaults["host"] &&
		parts["port"] == redirectDefaults["port"] && parts["path"] == redirectDefaults["path"]:
		return nil, d.fail(resolve(n), field, "redirects to the same URL; to avoid a loop ALB requires a change to the protocol, host, port or path")
	}
	return &Redirect{Protocol: parts["protocol"], Host: parts["host"], Port: parts["port"],
		Path: parts["path"], Query: parts["query"], StatusCode: status}, nil
}

// redirectPart checks one component of a redirect, placeholders allowed.
func redirectPart(key, s string) string {
	if s == "" || len(s) > maxRedirectPart {
		return "want 1 to 128 characters"
	}
	switch key {
	case "protocol":
		if s != "HTTP" && s != "HTTPS" && s != "#{protocol}" {
			return "want HTTP, HTTPS or #{protocol}"
		}
	case "port":
		if n, err := strconv.Atoi(s); s != "#{port}" && (err != nil || n < 1 || n > 65535) {
			return "want a port from 1 to 65535 or #{port}"
		}
	case "path":
		if !strings.HasPrefix(s, "/") {
			return "want an absolute path starting with / (placeholders allowed, e.g. /new/#{path})"
		}
	case "query":
		if strings.HasPrefix(s, "?") {
			return "want the query without its leading ?"
		}
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return "want no spaces"
	}
	return ""
}

var fixedResponseKeys = []string{"status_code", "content_type", "message_body"}

func (d *decoder) fixedResponse(n *yaml.Node, field string) (*FixedResponse, error) {
	fr := &FixedResponse{ContentType: "text/plain"}
	err := d.fields(n, field, fixedResponseKeys, func(key string, v *yaml.Node) error {
		f := join(field, key)
		switch key {
		case "status_code":
			if v.ShortTag() == "!!str" {
				v = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: v.Value, Line: v.Line, Column: v.Column}
			}
			code, err := d.integer(v, f, 200, 599)
			if err == nil && code/100 == 3 {
				err = d.fail(v, f, "%d is not allowed; want a 2XX, 4XX or 5XX code (use a redirect for 3XX)", code)
			}
			fr.StatusCode = code
			return err
		case "content_type":
			s, err := d.str(v, f)
			if err == nil {
				err = d.oneOf(v, f, s, fixedContentTypes...)
			}
			fr.ContentType = s
			return err
		default:
			s, err := d.str(v, f)
			if err == nil && len(s) > MaxMessageBody {
				err = d.fail(v, f, "is %d bytes; ALB allows at most %d", len(s), MaxMessageBody)
			}
			fr.MessageBody = s
			return err
		}
	})
	if err == nil && fr.StatusCode == 0 {
		err = d.missing(n, field, "status_code", "a 2XX, 4XX or 5XX code, e.g. 404")
	}
	if err != nil {
		return nil, err
	}
	return fr, nil
}
