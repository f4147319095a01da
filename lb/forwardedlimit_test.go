package lb

import (
	"net/http"
	"strings"
	"testing"
)

// TestTooManyForwardedFor: ALB answers 463 when X-Forwarded-For holds more
// than 30 addresses, counted over every line of the header; 30 pass. On
// both engines, and the target never sees the refused request.
func TestTooManyForwardedFor(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		_, ts := backends(t, 1)
		r := serve(t, Config{Engine: engine, Targets: ts})
		waitHealthy(t, r)
		addrs := func(n int) string {
			a := make([]string, n)
			for i := range a {
				a[i] = "10.0.0.1"
			}
			return strings.Join(a, ", ")
		}
		c := &http.Client{}
		for _, tc := range []struct {
			name  string
			lines []string
			want  int
		}{
			{"30 in one line", []string{addrs(30)}, 200},
			{"31 in one line", []string{addrs(31)}, 463},
			{"31 over two lines", []string{addrs(20), addrs(11)}, 463},
			{"30 over two lines", []string{addrs(20), addrs(10)}, 200},
		} {
			req, _ := http.NewRequest("GET", r.url+"/", nil)
			for _, l := range tc.lines {
				req.Header.Add("X-Forwarded-For", l)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
			}
		}
		if got := r.Targets()[0].Requests; got != 2 {
			t.Errorf("the target was sent %d requests, want the 2 within the limit", got)
		}
	})
}
