package listener

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// CodeRange is an inclusive range of HTTP status codes; a single code is
// a range of one.
type CodeRange struct{ Low, High int }

// Matcher is a health check's success codes, ALB's Matcher.HttpCode
// (Terraform's health_check.matcher): codes and ranges within 200 to 499,
// written "200", "200,202", "200-299" or "200,300-399".
type Matcher []CodeRange

// Match reports whether a health check answer with status code passes.
func (m Matcher) Match(code int) bool {
	for _, r := range m {
		if r.Low <= code && code <= r.High {
			return true
		}
	}
	return false
}

// String writes m as it is written in a file.
func (m Matcher) String() string {
	parts := make([]string, len(m))
	for i, r := range m {
		parts[i] = strconv.Itoa(r.Low)
		if r.High != r.Low {
			parts[i] += "-" + strconv.Itoa(r.High)
		}
	}
	return strings.Join(parts, ",")
}

// ParseMatcher parses ALB's success codes syntax.
func ParseMatcher(s string) (Matcher, error) {
	var m Matcher
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		if !isRange {
			hi = lo
		}
		low, err1 := strconv.Atoi(lo)
		high, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || low < 200 || high > 499 || low > high {
			return nil, fmt.Errorf("%q is not allowed; want codes or ranges within 200 to 499, comma-separated, e.g. 200, 200,202 or 200-299", s)
		}
		m = append(m, CodeRange{low, high})
	}
	return m, nil
}

func (d *decoder) matcher(v *yaml.Node, field string) (Matcher, error) {
	if v.Kind != yaml.ScalarNode || (v.ShortTag() != "!!str" && v.ShortTag() != "!!int") {
		return nil, d.fail(v, field, "want a string of codes such as \"200-299\", got %s", describe(v))
	}
	m, err := ParseMatcher(v.Value)
	if err != nil {
		return nil, d.fail(v, field, "%v", err)
	}
	return m, nil
}
