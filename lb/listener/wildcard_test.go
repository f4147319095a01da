package listener

import (
	"regexp"
	"strings"
	"testing"
)

func TestWildcardMatch(t *testing.T) {
	cases := []struct {
		name, pattern, s string
		fold, want       bool
	}{
		{"literal", "/old", "/old", false, true},
		{"literal is whole", "/old", "/older", false, false},
		{"star crosses slashes", "/api/*", "/api/a/b", false, true},
		{"star matches empty", "/api/*", "/api/", false, true},
		{"star needs the slash before it", "/api/*", "/api", false, false},
		{"slash star matches root", "/*", "/", false, true},
		{"lone star matches empty", "*", "", false, true},
		{"question is one character", "/v?/x", "/v1/x", false, true},
		{"question is not zero", "/v?/x", "/v/x", false, false},
		{"question is one rune", "/caf?", "/café", false, true},
		{"star in the middle", "/img/*.png", "/img/a/b.png", false, true},
		{"star in the middle, wrong suffix", "/img/*.png", "/img/a.png.gz", false, false},
		{"backtracking", "*a*b*c", "xxaxxbxxbxxc", false, true},
		{"with case", "/API/*", "/api/x", false, false},
		{"without case", "*.EXAMPLE.com", "www.example.COM", true, true},
		{"escaped star is literal", `a\*`, "a*", true, true},
		{"escaped star is not a wildcard", `a\*`, "ab", true, false},
		{"escaped question", `\?`, "?", true, true},
		{"escaped backslash", `a\\`, `a\`, true, true},
		{"empty pattern matches empty only", "", "", false, true},
		{"stars in a row", "**a**", "xa", false, true},
	}
	for _, tc := range cases {
		if got := wildcardMatch(tc.pattern, tc.s, tc.fold); got != tc.want {
			t.Errorf("%s: wildcardMatch(%q, %q, %v): got %v, want %v", tc.name, tc.pattern, tc.s, tc.fold, got, tc.want)
		}
	}
}

func TestWildcards(t *testing.T) {
	cases := []struct {
		pattern string
		want    int
	}{{"/api/*", 1}, {"*.example.?om", 2}, {`a\*b\?`, 0}, {"/plain", 0}}
	for _, tc := range cases {
		if got := wildcards(tc.pattern); got != tc.want {
			t.Errorf("wildcards(%q): got %d, want %d", tc.pattern, got, tc.want)
		}
	}
}

// TestWildcardMatchAgainstRegexp compares wildcardMatch with the regular
// expression each pattern stands for, over every pattern of up to four
// characters from a*?\ and every subject of up to four from ab: the
// backtracking must agree with a regexp engine everywhere.
func TestWildcardMatchAgainstRegexp(t *testing.T) {
	patterns := words("a*?\\", 4)
	subjects := words("ab", 4)
	for _, p := range patterns {
		re := regexp.MustCompile(wildcardRegexp(p))
		for _, s := range subjects {
			if got, want := wildcardMatch(p, s, false), re.MatchString(s); got != want {
				t.Errorf("wildcardMatch(%q, %q): got %v, want %v (as %s)", p, s, got, want, re)
			}
		}
	}
}

// wildcardRegexp translates a pattern as ALB reads it, escapes included.
func wildcardRegexp(p string) string {
	var b strings.Builder
	b.WriteString(`^(?s)`)
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '\\' && i+1 < len(p):
			i++
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		case c == '*':
			b.WriteString(".*")
		case c == '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		}
	}
	b.WriteString("$")
	return b.String()
}

// words returns every string of up to n characters from alphabet.
func words(alphabet string, n int) []string {
	out := []string{""}
	for prev := out; n > 0; n-- {
		var next []string
		for _, w := range prev {
			for _, c := range alphabet {
				next = append(next, w+string(c))
			}
		}
		out, prev = append(out, next...), next
	}
	return out
}
