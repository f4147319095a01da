package listener

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Error is a mistake in a configuration file: where it is, which key, and
// what is allowed there. Error() reads "file:line:col: field: detail", the
// form editors and compilers use, so that a terminal can jump to it.
type Error struct {
	File   string
	Line   int    // 1-based; 0 when unknown
	Column int    // 1-based; 0 when unknown
	Field  string // the key's path, e.g. listener.rules[1].priority; empty for the file as a whole
	Detail string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Detail)
	return b.String()
}

// decoder walks the YAML node tree of one file. It stops at the first
// mistake: one line naming it is what a user fixes, then runs again.
type decoder struct {
	file  string
	dir   string // what relative file names in the file are relative to
	https bool   // the listener's protocol is HTTPS
}

func (d *decoder) fail(n *yaml.Node, field, format string, args ...any) error {
	return &Error{File: d.file, Line: n.Line, Column: n.Column, Field: field, Detail: fmt.Sprintf(format, args...)}
}

// yamlLine finds the line in go-yaml's syntax errors ("yaml: line 3: ...").
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a go-yaml parse error into an *Error.
func (d *decoder) syntaxError(err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: d.file, Line: line, Detail: "YAML syntax: " + m[2]}
	}
	return &Error{File: d.file, Detail: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")}
}

// resolve follows YAML aliases (*name) to the node they stand for.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// join names a key inside field.
func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

// index names an item of the list field.
func index(field string, i int) string {
	return fmt.Sprintf("%s[%d]", field, i)
}

// foreignKeys are keys that users carrying a setup from Terraform or ALB's
// API may write, each with the key of this file that it stands for. A hint
// applies where that key is allowed; one whose key starts with "!" is
// advice instead, given where the key after the "!" is allowed.
var foreignKeys = []struct{ name, ours string }{
	{"cookie_duration", "duration"},
	{"load_balancing_algorithm_type", "algorithm"},
	{"load_balancing_anomaly_mitigation", "anomaly_mitigation"},
	{"target_group_arn", "target_group"},
	{"http_header_name", "name"},
	{"success_codes", "matcher"},
	{"condition", "conditions"},
	{"actions", "action"},
	{"type", "!forward: the action's type is its key, forward, redirect or fixed_response"},
	{"values", "!path_pattern: a condition's values are its own list, e.g. path_pattern: [\"/api/*\"]"},
	{"port", "!targets: each target's URL has its port"},
	{"port", "!listen: the port is in listen: host:port"},
	{"enabled", "!interval: health checks are always on"},
}

// foreignHint returns the hint for the unknown key name where keys are
// allowed, or "".
func foreignHint(name string, keys []string) string {
	for _, f := range foreignKeys {
		if f.name != name {
			continue
		}
		if where, advice, ok := strings.Cut(f.ours, ": "); ok && strings.HasPrefix(where, "!") {
			if slices.Contains(keys, where[1:]) {
				return "; " + advice
			}
		} else if slices.Contains(keys, f.ours) {
			return "; did you mean " + f.ours + "?"
		}
	}
	return ""
}

// fields walks the mapping n, whose path is field, calling set for each
// key in document order, then for the keys that YAML merge keys (<<: *name)
// bring in and the mapping does not give itself. A key not in keys, or
// given twice, is an error that lists the keys allowed.
func (d *decoder) fields(n *yaml.Node, field string, keys []string, set func(key string, v *yaml.Node) error) error {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return d.fail(n, field, "want a mapping with the keys %s", strings.Join(keys, ", "))
	}
	pairs, err := d.pairs(n, field)
	if err != nil {
		return err
	}
	seen := make(map[string]int, len(pairs))
	for _, p := range pairs {
		name := join(field, p.k.Value)
		if !slices.Contains(keys, p.k.Value) {
			return d.fail(p.k, name, "unknown key; allowed: %s%s", strings.Join(keys, ", "), foreignHint(p.k.Value, keys))
		}
		if line, dup := seen[p.k.Value]; dup {
			if p.merged {
				continue // the mapping's own key, or an earlier merge's, wins
			}
			return d.fail(p.k, name, "given twice (first on line %d)", line)
		}
		seen[p.k.Value] = p.k.Line
		if err := set(p.k.Value, p.v); err != nil {
			return err
		}
	}
	return nil
}

// pair is one key and value of a mapping; merged when a merge key
// brought it in.
type pair struct {
	k, v   *yaml.Node
	merged bool
}

// pairs returns the mapping n's own pairs, then those of the mappings its
// merge keys name, in order.
func (d *decoder) pairs(n *yaml.Node, field string) ([]pair, error) {
	var own, merged []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if k.ShortTag() != "!!merge" {
			own = append(own, pair{k: k, v: v})
			continue
		}
		sources := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			sources = v.Content
		}
		for _, src := range sources {
			src = resolve(src)
			if src.Kind != yaml.MappingNode {
				return nil, d.fail(k, join(field, "<<"), "want a mapping or a list of them to merge, such as *defaults")
			}
			more, err := d.pairs(src, field)
			if err != nil {
				return nil, err
			}
			for _, p := range more {
				merged = append(merged, pair{k: p.k, v: p.v, merged: true})
			}
		}
	}
	return append(own, merged...), nil
}

// valueOf returns the value of key in the mapping n, or nil.
func valueOf(n *yaml.Node, key string) *yaml.Node {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return resolve(n.Content[i+1])
		}
	}
	return nil
}

// missing reports the required key of the mapping n.
func (d *decoder) missing(n *yaml.Node, field, key, want string) error {
	return d.fail(resolve(n), join(field, key), "is required: %s", want)
}

// str reads a string scalar.
func (d *decoder) str(v *yaml.Node, field string) (string, error) {
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" {
		return "", d.fail(v, field, "want a string, got %s", describe(v))
	}
	return v.Value, nil
}

// boolean reads true or false.
func (d *decoder) boolean(v *yaml.Node, field string) (bool, error) {
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!bool" {
		return false, d.fail(v, field, "want true or false, got %s", describe(v))
	}
	return v.Value == "true" || v.Value == "True" || v.Value == "TRUE", nil
}

// integer reads a whole number from lo to hi.
func (d *decoder) integer(v *yaml.Node, field string, lo, hi int) (int, error) {
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!int" {
		n, err := strconv.ParseInt(v.Value, 0, 64)
		if err == nil && n >= int64(lo) && n <= int64(hi) {
			return int(n), nil
		}
	}
	return 0, d.fail(v, field, "%s is not allowed; want a whole number from %d to %d", describe(v), lo, hi)
}

// seconds reads a duration in whole seconds from lo to hi: a Go duration
// (90s, 5m, 1h30m), a number of days (7d), or a bare number of seconds as
// ALB's API and Terraform write it (300).
func (d *decoder) seconds(v *yaml.Node, field string, lo, hi time.Duration) (time.Duration, error) {
	want := fmt.Sprintf("want a duration from %s to %s in whole seconds (e.g. 30s, 5m, 1h, 7d, or 300 for seconds)", fmtSeconds(lo), fmtSeconds(hi))
	if v.Kind != yaml.ScalarNode {
		return 0, d.fail(v, field, "%s", want)
	}
	dur, ok := parseSeconds(v)
	if !ok {
		return 0, d.fail(v, field, "%s is not a duration; %s", describe(v), want)
	}
	if dur%time.Second != 0 {
		return 0, d.fail(v, field, "%s is not whole seconds; %s", v.Value, want)
	}
	if dur < lo || dur > hi {
		return 0, d.fail(v, field, "%s is out of range; %s", v.Value, want)
	}
	return dur, nil
}

// fmtSeconds writes a duration as ALB states its ranges: in seconds, or days
// when it is whole days.
func fmtSeconds(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= day && d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

func parseSeconds(v *yaml.Node) (time.Duration, bool) {
	switch v.ShortTag() {
	case "!!int":
		n, err := strconv.ParseInt(v.Value, 10, 32)
		return time.Duration(n) * time.Second, err == nil
	case "!!str":
		if days, ok := strings.CutSuffix(v.Value, "d"); ok {
			n, err := strconv.ParseInt(days, 10, 16)
			return time.Duration(n) * 24 * time.Hour, err == nil
		}
		dur, err := time.ParseDuration(v.Value)
		return dur, err == nil
	}
	return 0, false
}

// list reads a sequence; want says what its items are.
func (d *decoder) list(v *yaml.Node, field, want string) ([]*yaml.Node, error) {
	if v.Kind != yaml.SequenceNode {
		return nil, d.fail(v, field, "want a list of %s, got %s", want, describe(v))
	}
	items := make([]*yaml.Node, len(v.Content))
	for i, item := range v.Content {
		items[i] = resolve(item)
	}
	return items, nil
}

// strs reads a non-empty list of strings.
func (d *decoder) strs(v *yaml.Node, field, want string) ([]string, []*yaml.Node, error) {
	items, err := d.list(v, field, want)
	if err != nil {
		return nil, nil, err
	}
	if len(items) == 0 {
		return nil, nil, d.fail(v, field, "is empty; want at least one of %s", want)
	}
	out := make([]string, len(items))
	for i, item := range items {
		if out[i], err = d.str(item, index(field, i)); err != nil {
			return nil, nil, err
		}
	}
	return out, items, nil
}

// describe names a node's value for an error message.
func describe(v *yaml.Node) string {
	switch v.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if v.ShortTag() == "!!null" {
			return "nothing"
		}
		if v.ShortTag() == "!!str" {
			return strconv.Quote(v.Value)
		}
		return v.Value
	}
	return "something else"
}

// oneOf checks that s is one of allowed.
func (d *decoder) oneOf(v *yaml.Node, field, s string, allowed ...string) error {
	for _, a := range allowed {
		if s == a {
			return nil
		}
	}
	return d.fail(v, field, "%q is not allowed; want %s", s, orList(allowed))
}

// orList writes "a, b or c".
func orList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}
