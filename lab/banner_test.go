package lab

import (
	"strings"
	"testing"

	"stickylab/lb"
)

func TestLocalURL(t *testing.T) {
	cases := []struct {
		addr, want string
	}{
		{"127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"0.0.0.0:8080", "http://127.0.0.1:8080"},
		{"[::]:8080", "http://127.0.0.1:8080"},
		{":8080", "http://127.0.0.1:8080"},
		{"[::1]:8081", "http://[::1]:8081"},
		{"localhost:8081", "http://localhost:8081"},
		{"192.0.2.7:80", "http://192.0.2.7:80"},
	}
	for _, tc := range cases {
		if got := LocalURL(tc.addr); got != tc.want {
			t.Errorf("LocalURL(%q): got %q, want %q", tc.addr, got, tc.want)
		}
	}
}

// TestBannerWording checks what the banner tells a learner to open and what
// it says a restart brings back, per store.
func TestBannerWording(t *testing.T) {
	cases := []struct {
		name         string
		proxy, admin string
		store        string
		want, not    []string
	}{
		{"memory on loopback", "127.0.0.1:8080", "127.0.0.1:8081", "memory",
			[]string{"http://127.0.0.1:8080/ ", "http://127.0.0.1:8081/api/instances/app-1/restart", "bring it back, empty", "the session died with the instance", `"migrate":true`},
			[]string{"still in redis"}},
		{"redis on every interface", "[::]:8080", "0.0.0.0:8081", "redis",
			[]string{"http://127.0.0.1:8080/ ", "http://127.0.0.1:8081/api/instances/app-1/restart", "its sessions still in redis", "still logged in"},
			[]string{"[::]", "0.0.0.0", "empty"}},
		{"cookie", "127.0.0.1:8080", "127.0.0.1:8081", "cookie",
			[]string{"still logged in, the session lives in your cookie", "it never held a session"},
			[]string{"empty", "died with the instance"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			writeBanner(&out, banner{
				proxy: tc.proxy, admin: tc.admin, redis: "redis://127.0.0.1:6379/0", embedded: true,
				stickiness: lb.Stickiness{Mode: lb.StickyApp, Duration: lb.DefaultStickyDuration, AppCookie: AppCookie},
				instances:  []Instance{{Name: "app-1", PID: 1, URL: "http://127.0.0.1:9001", Store: tc.store}},
				store:      tc.store,
			})
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("got a banner without %q, want it:\n%s", w, out.String())
				}
			}
			for _, n := range tc.not {
				if strings.Contains(out.String(), n) {
					t.Errorf("got a banner with %q, want none:\n%s", n, out.String())
				}
			}
		})
	}
}
