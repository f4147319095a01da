package listener

import "testing"

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
