package palette

import (
	"fmt"
	"math"
	"strconv"
	"testing"
)

func TestColor(t *testing.T) {
	tests := []struct {
		name, a, b string
		same       bool
	}{
		{"app-1 and app-2 differ", "app-1", "app-2", false},
		{"app-2 and app-3 differ", "app-2", "app-3", false},
		{"the number decides, not the prefix", "app-1", "web1", true},
		{"wraps after eight", "app-1", "app-9", true},
		{"a long number wraps as its value does", "app-100000000000000000002", "app-2", true},
		{"a longer number wraps as its value does", "app-99999999999999999999", "app-7", true},
		// A name without a number gets the entry of FNV-1a, which depends
		// on the name alone (no per-process seed, as hash/maphash has), so
		// that every process shows it alike: kitchen's hash is 7 modulo 8,
		// app-8's entry; the instance name of an EC2 host 3, app-4's.
		{"a hashed name has the same colour in every process", "kitchen", "app-8", true},
		{"another hashed name too", "ip-10-0-0-7.ec2.internal.x", "app-4", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Color(tt.a) == Color(tt.b); got != tt.same {
				t.Errorf("Color(%q)=%s, Color(%q)=%s: got same %v, want %v", tt.a, Color(tt.a), tt.b, Color(tt.b), got, tt.same)
			}
		})
	}

	// The first eight instances get eight distinct colours, all readable
	// under white text, and every other name one of them.
	seen := map[string]string{}
	for i := 1; i <= paletteSize; i++ {
		name := fmt.Sprintf("app-%d", i)
		c := Color(name)
		if other, ok := seen[c]; ok {
			t.Errorf("Color(%q) = Color(%q) = %s, want distinct", name, other, c)
		}
		seen[c] = name
		if ratio := contrastWithWhite(t, c); ratio < 4.5 {
			t.Errorf("Color(%q) = %s: got contrast %.2f with white text, want at least 4.5 (WCAG AA)", name, c, ratio)
		}
	}
	for _, name := range []string{"", "kitchen", "ip-10-0-0-7.ec2.internal.x", "app-", "💥"} {
		if _, ok := seen[Color(name)]; !ok {
			t.Errorf("Color(%q) = %s, want one of the palette", name, Color(name))
		}
	}
}

// contrastWithWhite is the WCAG 2 contrast ratio of #rrggbb against white.
func contrastWithWhite(t *testing.T, hex string) float64 {
	t.Helper()
	if len(hex) != 7 || hex[0] != '#' {
		t.Fatalf("colour %q is not #rrggbb", hex)
	}
	var lum float64
	for i, weight := range []float64{0.2126, 0.7152, 0.0722} {
		v, err := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		if err != nil {
			t.Fatalf("colour %q: %v", hex, err)
		}
		c := float64(v) / 255
		if c <= 0.03928 {
			c /= 12.92
		} else {
			c = math.Pow((c+0.055)/1.055, 2.4)
		}
		lum += weight * c
	}
	return 1.05 / (lum + 0.05)
}
