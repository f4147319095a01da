package lb

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	appLine    = regexp.MustCompile(`^AWSALBAPP-0=([A-Za-z0-9_-]+); Expires=([^;]+ GMT); Path=/$`)
	removeLine = regexp.MustCompile(`^AWSALBAPP-[123]=_remove_; Expires=[^;]+ GMT; Path=/$`)
)

// TestAppCookieOnlyAfterAppSetsItsCookie: no AWSALBAPP before the target sets
// the application cookie; then AWSALBAPP-0 and AWSALBAPP-1..3=_remove_.
func TestAppCookieOnlyAfterAppSetsItsCookie(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		_, ts := backends(t, 3)
		r := serve(t, Config{Engine: engine, Targets: ts, Sticky: StickyApp, AppCookie: testAppCookie})
		waitHealthy(t, r)
		c := newClient(t)

		resp, _ := do(t, c, "GET", r.url+"/", nil)
		if got := resp.Header.Values("Set-Cookie"); len(got) != 0 {
			t.Fatalf("anonymous request got Set-Cookie %q, want none before the app sets its cookie", got)
		}
		resp, loggedInOn := do(t, c, "POST", r.url+"/login", nil)
		sc := setCookies(resp)
		if !appLine.MatchString(sc["AWSALBAPP-0"]) {
			t.Fatalf("AWSALBAPP-0 Set-Cookie = %q, want AWSALBAPP-0=<opaque>; Expires=<date>; Path=/", sc["AWSALBAPP-0"])
		}
		for _, n := range []string{"AWSALBAPP-1", "AWSALBAPP-2", "AWSALBAPP-3"} {
			if !removeLine.MatchString(sc[n]) {
				t.Errorf("%s Set-Cookie = %q, want %s=_remove_; Expires=<date>; Path=/", n, sc[n], n)
			}
		}
		if !strings.HasPrefix(sc[testAppCookie], testAppCookie+"=s-"+loggedInOn) {
			t.Errorf("application cookie = %q, want it passed through untouched", sc[testAppCookie])
		}
		exp, _ := time.Parse(http.TimeFormat, appLine.FindStringSubmatch(sc["AWSALBAPP-0"])[2])
		if d := time.Until(exp); d < cookieLifetime-5*time.Second || d > cookieLifetime+time.Second {
			t.Errorf("AWSALBAPP-0 expires in %v, want 7 days", d)
		}
		for i := range 20 {
			resp, body := do(t, c, "GET", r.url+"/", nil)
			if body != loggedInOn {
				t.Fatalf("request %d after login went to %s, want %s", i, body, loggedInOn)
			}
			if !appLine.MatchString(setCookies(resp)["AWSALBAPP-0"]) {
				t.Fatalf("request %d: AWSALBAPP-0 not refreshed while sticky", i)
			}
		}
	})
}

// TestAppLogoutEndsStickiness: once the application cookie is deleted,
// requests are routed by the algorithm again although AWSALBAPP-0 remains.
func TestAppLogoutEndsStickiness(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		_, ts := backends(t, 3)
		r := serve(t, Config{Engine: engine, Targets: ts, Sticky: StickyApp, AppCookie: testAppCookie})
		waitHealthy(t, r)
		c := newClient(t)
		do(t, c, "POST", r.url+"/login", nil)
		resp, _ := do(t, c, "POST", r.url+"/logout", nil)
		if _, ok := setCookies(resp)["AWSALBAPP-0"]; ok {
			t.Errorf("logout response refreshed AWSALBAPP-0, want stickiness to end with the session")
		}
		seen := map[string]bool{}
		for range 6 {
			resp, body := do(t, c, "GET", r.url+"/", nil)
			seen[body] = true
			if got := resp.Header.Values("Set-Cookie"); len(got) != 0 {
				t.Errorf("logged-out request got Set-Cookie %q, want none", got)
			}
		}
		if len(seen) != 3 {
			t.Errorf("after logout 6 requests reached %v, want all 3 targets (round robin)", seen)
		}
	})
}

// TestAppNeedsBothCookies: AWSALBAPP-0 alone does not bind; the application
// cookie alone does not either, and gets no AWSALBAPP-0 unless the target
// sets the application cookie (as ALB); both, with an AWSALBAPP-0 that is
// not valid, get it rewritten.
func TestAppNeedsBothCookies(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		_, ts := backends(t, 3)
		r := serve(t, Config{Engine: engine, Targets: ts, Sticky: StickyApp, AppCookie: testAppCookie})
		waitHealthy(t, r)
		resp, on := do(t, newClient(t), "POST", r.url+"/login", nil)
		app := appLine.FindStringSubmatch(setCookies(resp)["AWSALBAPP-0"])[1]

		seen := map[string]bool{}
		for range 6 {
			_, body := do(t, http.DefaultClient, "GET", r.url+"/", map[string]string{"Cookie": "AWSALBAPP-0=" + app})
			seen[body] = true
		}
		if len(seen) != 3 {
			t.Errorf("AWSALBAPP-0 without the app cookie reached %v, want all 3 targets", seen)
		}
		for range 6 {
			_, body := do(t, http.DefaultClient, "GET", r.url+"/", map[string]string{"Cookie": "AWSALBAPP-0=" + app + "; " + testAppCookie + "=x"})
			if body != on {
				t.Fatalf("both cookies went to %s, want %s", body, on)
			}
		}
		for range 3 {
			resp, _ := do(t, http.DefaultClient, "GET", r.url+"/", map[string]string{"Cookie": testAppCookie + "=x"})
			if got := resp.Header.Values("Set-Cookie"); len(got) != 0 {
				t.Fatalf("the app cookie alone, target setting none: Set-Cookie %q, want none", got)
			}
		}
		resp, body := do(t, http.DefaultClient, "GET", r.url+"/", map[string]string{"Cookie": testAppCookie + "=x; AWSALBAPP-0=forged"})
		m := appLine.FindStringSubmatch(setCookies(resp)["AWSALBAPP-0"])
		if m == nil {
			t.Fatalf("app cookie with a forged AWSALBAPP-0: no fresh AWSALBAPP-0 in %q", resp.Header.Values("Set-Cookie"))
		}
		if v, ok := r.codec.open(m[1], purposeApp, func(b []byte) string { return string(b) }); !ok || v.target != body {
			t.Errorf("fresh AWSALBAPP-0 names %q, want %q", v.target, body)
		}
	})
}

func TestReservedAppCookieNamesRefused(t *testing.T) {
	_, ts := backends(t, 1)
	for _, name := range []string{"AWSALB", "AWSALBX", "AWSALBAPP-0", "AWSALBTG", "AWSALBCORS", "awsalbapp"} {
		_, err := New(Config{Targets: ts, Sticky: StickyApp, AppCookie: name})
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "AppCookie" || !strings.Contains(err.Error(), "reserved") {
			t.Errorf("New with AppCookie %q: err = %v, want a reserved-name error on AppCookie", name, err)
		}
	}
	if _, err := New(Config{Targets: ts, Sticky: StickyApp}); err == nil || !strings.Contains(err.Error(), "AppCookie") {
		t.Errorf("New with app stickiness and no AppCookie: err = %v, want an AppCookie error", err)
	}
	if _, err := New(Config{Targets: ts, Sticky: StickyApp, AppCookie: "bad name"}); err == nil {
		t.Errorf("New with AppCookie %q: no error, want an invalid cookie name", "bad name")
	}
}
