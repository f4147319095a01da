package lb

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// cookieLine matches ALB's duration cookies: an opaque base64url value, an
// Expires date, Path=/; the CORS copy adds SameSite=None; Secure.
var (
	awsalbLine     = regexp.MustCompile(`^AWSALB=([A-Za-z0-9_-]+); Expires=([^;]+ GMT); Path=/$`)
	awsalbCORSLine = regexp.MustCompile(`^AWSALBCORS=([A-Za-z0-9_-]+); Expires=([^;]+ GMT); Path=/; SameSite=None; Secure$`)
)

func TestDurationFirstResponseSetsBothCookies(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		_, ts := backends(t, 3)
		r := serve(t, Config{Engine: engine, Targets: ts, Sticky: StickyDuration})
		waitHealthy(t, r)
		before := time.Now()
		resp, _ := do(t, http.DefaultClient, "GET", r.url+"/", nil)
		sc := setCookies(resp)

		m := awsalbLine.FindStringSubmatch(sc["AWSALB"])
		if m == nil {
			t.Fatalf("AWSALB Set-Cookie = %q, want AWSALB=<opaque>; Expires=<date>; Path=/", sc["AWSALB"])
		}
		mc := awsalbCORSLine.FindStringSubmatch(sc["AWSALBCORS"])
		if mc == nil {
			t.Fatalf("AWSALBCORS Set-Cookie = %q, want AWSALBCORS=<opaque>; Expires=<date>; Path=/; SameSite=None; Secure", sc["AWSALBCORS"])
		}
		if m[1] != mc[1] {
			t.Errorf("AWSALBCORS value %q differs from AWSALB value %q", mc[1], m[1])
		}
		for _, line := range []string{sc["AWSALB"], sc["AWSALBCORS"]} {
			if strings.Contains(line, "Max-Age") || strings.Contains(line, "HttpOnly") {
				t.Errorf("Set-Cookie %q: ALB sends neither Max-Age nor HttpOnly", line)
			}
		}
		exp, err := time.Parse(http.TimeFormat, m[2])
		if err != nil {
			t.Fatalf("Expires %q: %v", m[2], err)
		}
		if lo, hi := before.Add(cookieLifetime-2*time.Second), time.Now().Add(cookieLifetime+time.Second); exp.Before(lo) || exp.After(hi) {
			t.Errorf("Expires = %v, want now + 7 days (%v..%v)", exp, lo, hi)
		}
		if strings.Contains(m[1], resp.Header.Get("X-Backend")) {
			t.Errorf("cookie value %q reveals the target name", m[1])
		}
	})
}

func TestDurationStickyAndRefreshed(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		_, ts := backends(t, 3)
		r := serve(t, Config{Engine: engine, Targets: ts, Sticky: StickyDuration})
		waitHealthy(t, r)
		c := newClient(t)
		first, _ := do(t, c, "GET", r.url+"/", nil)
		want := first.Header.Get("X-Backend")
		prev := setCookies(first)["AWSALB"]
		for i := range 20 {
			resp, _ := do(t, c, "GET", r.url+"/", nil)
			if got := resp.Header.Get("X-Backend"); got != want {
				t.Fatalf("request %d went to %s, want %s (sticky)", i+2, got, want)
			}
			line := setCookies(resp)["AWSALB"]
			if line == "" {
				t.Fatalf("request %d: no AWSALB refresh, ALB refreshes on every response", i+2)
			}
			if line == prev {
				t.Errorf("request %d: AWSALB value did not change, want a fresh value each response", i+2)
			}
			prev = line
		}
	})
}

func TestDurationCORSCookieAloneIsSticky(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		_, ts := backends(t, 3)
		r := serve(t, Config{Engine: engine, Targets: ts, Sticky: StickyDuration})
		waitHealthy(t, r)
		first, _ := do(t, http.DefaultClient, "GET", r.url+"/", nil)
		want := first.Header.Get("X-Backend")
		value := awsalbCORSLine.FindStringSubmatch(setCookies(first)["AWSALBCORS"])[1]
		for i := range 6 {
			resp, _ := do(t, http.DefaultClient, "GET", r.url+"/", map[string]string{"Cookie": "AWSALBCORS=" + value})
			if got := resp.Header.Get("X-Backend"); got != want {
				t.Fatalf("request %d with AWSALBCORS only went to %s, want %s", i, got, want)
			}
		}
	})
}

// TestDurationBadCookies: a forged, truncated, expired or foreign value gets a
// normal answer and a fresh valid cookie, never an error.
func TestDurationBadCookies(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		_, ts := backends(t, 3)
		key := make([]byte, 32)
		r := serve(t, Config{Engine: engine, Targets: ts, Sticky: StickyDuration, CookieKeys: [][]byte{key}})
		waitHealthy(t, r)

		foreign, err := newCookieCodec([][]byte{[]byte("another balancer's key 32 bytes!")})
		if err != nil {
			t.Fatal(err)
		}
		own, _ := newCookieCodec([][]byte{key})
		seal := func(c *cookieCodec, purpose byte, v stickyValue) string { return string(c.appendSeal(nil, purpose, v)) }
		valid := seal(own, purposeDuration, stickyValue{deadline: time.Now().Add(time.Hour).UnixMilli(), client: 7, target: "app-2"})

		cases := []struct {
			name, value string
		}{
			{"forged", "YXBwLTI"},
			{"plain target name", "app-2"},
			{"truncated", valid[:len(valid)-4]},
			{"bit flipped", flip(valid)},
			{"expired", seal(own, purposeDuration, stickyValue{deadline: time.Now().Add(-time.Second).UnixMilli(), client: 7, target: "app-2"})},
			{"foreign key", seal(foreign, purposeDuration, stickyValue{deadline: time.Now().Add(time.Hour).UnixMilli(), client: 7, target: "app-2"})},
			{"app cookie value", seal(own, purposeApp, stickyValue{deadline: time.Now().Add(time.Hour).UnixMilli(), client: 7, target: "app-2"})},
			{"empty", ""},
			{"huge", strings.Repeat("A", 5000)},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				resp, body := do(t, http.DefaultClient, "GET", r.url+"/", map[string]string{"Cookie": "AWSALB=" + tc.value})
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d, want 200", resp.StatusCode)
				}
				m := awsalbLine.FindStringSubmatch(setCookies(resp)["AWSALB"])
				if m == nil {
					t.Fatalf("no fresh AWSALB cookie in %q", resp.Header.Values("Set-Cookie"))
				}
				v, ok := own.open(m[1], purposeDuration, func(b []byte) string { return string(b) })
				if !ok || v.target != body {
					t.Errorf("fresh cookie names %q (valid %v), want the target that answered, %q", v.target, ok, body)
				}
			})
		}
		t.Run("valid", func(t *testing.T) {
			for range 5 {
				_, body := do(t, http.DefaultClient, "GET", r.url+"/", map[string]string{"Cookie": "AWSALB=" + valid})
				if body != "app-2" {
					t.Fatalf("valid cookie for app-2 answered by %s", body)
				}
			}
		})
	})
}

func flip(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// TestDurationEnforcedInside: the browser-visible Expires is 7 days, but the
// configured duration inside the value ends the binding.
func TestDurationEnforcedInside(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		_, ts := backends(t, 3)
		r := serve(t, Config{Engine: engine, Targets: ts, Sticky: StickyDuration, StickyDuration: time.Second})
		waitHealthy(t, r)
		first, body := do(t, http.DefaultClient, "GET", r.url+"/", nil)
		value := awsalbLine.FindStringSubmatch(setCookies(first)["AWSALB"])[1]
		v, ok := r.codec.open(value, purposeDuration, func(b []byte) string { return string(b) })
		if !ok {
			t.Fatal("own cookie does not open")
		}
		if d := time.Until(time.UnixMilli(v.deadline)); d > time.Second || d < 0 {
			t.Errorf("deadline inside the cookie is %v away, want within the 1s duration", d)
		}
		if v.target != body {
			t.Errorf("cookie names %q, want %q", v.target, body)
		}
		// Once the deadline has passed, the same value no longer binds: the
		// request is a new one, whatever the browser still sends.
		waitFor(t, "the deadline to pass", func() bool { return time.Now().UnixMilli() >= v.deadline })
		stuck := r.metrics.decisions.WithLabelValues(DecisionStuck)
		before := counterValue(t, stuck)
		do(t, http.DefaultClient, "GET", r.url+"/", map[string]string{"Cookie": "AWSALB=" + value})
		if got := counterValue(t, stuck); got != before {
			t.Errorf("expired value was stuck (%v stuck decisions, want %v)", got, before)
		}
	})
}
