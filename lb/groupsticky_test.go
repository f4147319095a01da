package lb

import (
	"net/http"
	"strings"
	"testing"
)

const blueGreenYAML = `
listener:
  default_action:
    forward:
      target_groups: [{name: blue, weight: 80}, {name: green, weight: 20}]
      stickiness: {enabled: true, duration: DURATION}
target_groups:
  - name: blue
    targets: [app-1={app-1}, app-2={app-2}]
    stickiness: {type: lb_cookie, duration: 1h}
  - {name: green, targets: [app-3={app-3}]}
`

// TestWeightedForwardGroupStickiness: an 80/20 forward with group
// stickiness sends 80 of 100 new clients to blue and sets AWSALBTG and
// AWSALBTGCORS with AWSALB's attributes; inside blue, target stickiness
// keeps each client on its target. After PUT /api/rules/default moves the
// weights to 0/100, every client keeps its group and new clients go green.
func TestWeightedForwardGroupStickiness(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		bs, _ := backends(t, 3)
		r := serveRouter(t, strings.Replace(blueGreenYAML, "DURATION", "1h", 1), bs, Config{Engine: engine})
		type client struct {
			c      *http.Client
			target string
		}
		var clients []client
		blue := 0
		for i := range 100 {
			c := newClient(t)
			resp, body := do(t, c, "GET", r.url+"/", nil)
			cookies := setCookies(resp)
			tg, cors := cookies[cookieTG], cookies[cookieTGCORS]
			if i == 0 {
				// The same attributes as AWSALB and AWSALBCORS.
				if !strings.Contains(tg, "; Expires=") || !strings.HasSuffix(tg, "; Path=/") {
					t.Errorf("AWSALBTG %q, want Expires and Path=/ as AWSALB", tg)
				}
				if !strings.HasSuffix(cors, "; Path=/; SameSite=None; Secure") {
					t.Errorf("AWSALBTGCORS %q, want Path=/; SameSite=None; Secure as AWSALBCORS", cors)
				}
				if v1, v2 := strings.SplitN(tg, ";", 2)[0], strings.SplitN(cors, ";", 2)[0]; v1[len(cookieTG):] != v2[len(cookieTGCORS):] {
					t.Errorf("AWSALBTG and AWSALBTGCORS values differ: %q %q", v1, v2)
				}
			}
			if body != "app-3" {
				blue++
				if _, ok := cookies[cookieLB]; !ok {
					t.Errorf("blue's response has no AWSALB: target stickiness inside the group is off")
				}
			}
			clients = append(clients, client{c, body})
		}
		if blue != 80 {
			t.Errorf("%d of 100 new clients went to blue, want 80 (weights 80/20)", blue)
		}
		var act map[string]any
		if code := adminJSON(t, "PUT", r.admin+"/api/rules/default", `{"weights":{"blue":0,"green":100}}`, &act); code != 200 {
			t.Fatalf("PUT /api/rules/default: status %d %v", code, act)
		}
		for i, cl := range clients {
			for range 2 {
				if _, body := do(t, cl.c, "GET", r.url+"/", nil); body != cl.target {
					t.Fatalf("client %d went to %s after the shift, want its own %s (group and target stickiness)", i, body, cl.target)
				}
			}
		}
		for range 10 {
			if _, body := do(t, newClient(t), "GET", r.url+"/", nil); body != "app-3" {
				t.Fatalf("a new client went to %s after the shift to 0/100, want green's app-3", body)
			}
		}
		for _, tc := range []struct {
			path, body string
			want       int
		}{
			{"/api/rules/default", `{"weights":{"red":1}}`, 400},
			{"/api/rules/default", `{"weights":{"blue":1000}}`, 400},
			{"/api/rules/default", `{"weights":{"blue":0,"green":0}}`, 400},
			{"/api/rules/7", `{"weights":{"blue":1}}`, 404},
			{"/api/rules/default", `{"weight":{"blue":1}}`, 400},
		} {
			if code := adminJSON(t, "PUT", r.admin+tc.path, tc.body, nil); code != tc.want {
				t.Errorf("PUT %s %s: status %d, want %d", tc.path, tc.body, code, tc.want)
			}
		}
	})
}

// TestGroupCookieExpires: a client whose group cookie has run out (1s
// without a request) is placed by the weights again.
func TestGroupCookieExpires(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		bs, _ := backends(t, 3)
		r := serveRouter(t, strings.Replace(blueGreenYAML, "DURATION", "1s", 1), bs, Config{Engine: engine})
		if code := adminJSON(t, "PUT", r.admin+"/api/rules/default", `{"weights":{"blue":100,"green":0}}`, nil); code != 200 {
			t.Fatalf("PUT: status %d", code)
		}
		resp, body := do(t, newClient(t), "GET", r.url+"/", nil)
		if body == "app-3" {
			t.Fatalf("went to green with weights 100/0")
		}
		tg := strings.SplitN(setCookies(resp)[cookieTG], ";", 2)[0]
		if code := adminJSON(t, "PUT", r.admin+"/api/rules/default", `{"weights":{"blue":0,"green":100}}`, nil); code != 200 {
			t.Fatalf("PUT: status %d", code)
		}
		// The same cookie, never refreshed: blue while it lasts, then green.
		send := func() string {
			_, body := do(t, &http.Client{}, "GET", r.url+"/", map[string]string{"Cookie": tg})
			return body
		}
		if got := send(); got == "app-3" {
			t.Fatalf("with a fresh group cookie for blue, went to green")
		}
		waitFor(t, "the group cookie to expire and the client to go green", func() bool { return send() == "app-3" })
	})
}

// TestGroupStickinessAtRunTime: PUT /api/target-groups/{tg}/stickiness
// changes one group's stickiness; app stickiness is refused on a group of
// a weighted forward, as ALB refuses it.
func TestGroupStickinessAtRunTime(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		bs, _ := backends(t, 3)
		r := serveRouter(t, strings.Replace(blueGreenYAML, "DURATION", "1h", 1), bs, Config{Engine: engine})
		var st stickinessJSON
		if code := adminJSON(t, "PUT", r.admin+"/api/target-groups/green/stickiness", `{"mode":"none"}`, &st); code != 200 || *st.Mode != StickyNone {
			t.Errorf("PUT green none: %d %v, want 200 and none", code, st.Mode)
		}
		if got := r.Group("green").Stickiness().Mode; got != StickyNone {
			t.Errorf("green's stickiness is %s, want none", got)
		}
		if got := r.Group("blue").Stickiness().Mode; got != StickyDuration {
			t.Errorf("blue's stickiness is %s, want duration still", got)
		}
		if code := adminJSON(t, "PUT", r.admin+"/api/target-groups/blue/stickiness", `{"mode":"app","app_cookie":"s"}`, nil); code != 400 {
			t.Errorf("PUT blue app: status %d, want 400 (weighted forward)", code)
		}
		if code := adminJSON(t, "GET", r.admin+"/api/target-groups/nope/stickiness", "", nil); code != 404 {
			t.Errorf("GET an unknown group's stickiness: status %d, want 404", code)
		}
	})
}
