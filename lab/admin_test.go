package lab

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestInstanceRoutes(t *testing.T) {
	r, err := StartRedis()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f := testFleet(t, FleetConfig{Instances: 2, RedisURL: r.URL()})
	mux := http.NewServeMux()
	InstanceRoutes(f)(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	type answer struct {
		Error     string     `json:"error"`
		State     State      `json:"state"`
		Store     string     `json:"store"`
		Kill      string     `json:"kill"`
		Instances []Instance `json:"instances"`
	}
	do := func(t *testing.T, method, path, body string) (int, answer) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var a answer
		if resp.StatusCode == http.StatusMethodNotAllowed { // the mux's own plain-text answer
			return resp.StatusCode, a
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q, want application/json", ct)
		}
		if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
			t.Fatalf("decode: %v", err)
		}
		return resp.StatusCode, a
	}

	// The cases run in order: each starts from the state the previous left.
	cases := []struct {
		name, method, path, body string
		wantStatus               int
		wantState                State  // for answers about one instance
		wantStore                string // of the instance, or of the fleet
		wantError                string // substring of the error message
		wantList                 bool   // the answer lists the instances
	}{
		{"kill", "POST", "/api/instances/app-1/kill", "", 200, StateKilled, "memory", "", false},
		{"kill again", "POST", "/api/instances/app-1/kill", "", 409, "", "", "app-1 is not running (killed); start it with POST /api/instances/app-1/restart", false},
		{"kill unknown", "POST", "/api/instances/app-7/kill", "", 404, "", "", `no instance named "app-7" (instances: app-1, app-2)`, false},
		{"restart", "POST", "/api/instances/app-1/restart", "", 200, StateRunning, "memory", "", false},
		{"restart unknown", "POST", "/api/instances/nope/restart", "", 404, "", "", `no instance named "nope"`, false},
		{"kill with GET", "GET", "/api/instances/app-1/kill", "", 405, "", "", "", false},
		{"store bad json", "PUT", "/api/store", "{", 400, "", "", "body must be JSON", false},
		{"store unknown field", "PUT", "/api/store", `{"mode":"redis"}`, 400, "", "", "body must be JSON", false},
		{"store bad value", "PUT", "/api/store", `{"store":"disk"}`, 400, "", "", `store "disk": must be memory, redis or cookie`, false},
		{"migrate to cookie", "PUT", "/api/store", `{"store":"cookie","migrate":true}`, 400, "", "", `migrate moves sessions from memory to redis`, false},
		{"store redis in place", "PUT", "/api/store", `{"store":"redis","migrate":true}`, 200, "", "redis", "", true},
		{"store cookie", "PUT", "/api/store", `{"store":"cookie"}`, 200, "", "cookie", "", true},
		{"migrate from cookie", "PUT", "/api/store", `{"store":"redis","migrate":true}`, 409, "", "", "the instances run cookie: only memory migrates to redis", false},
		{"store memory", "PUT", "/api/store", `{"store":"memory"}`, 200, "", "memory", "", true},
		{"store redis", "PUT", "/api/store", `{"store":"redis"}`, 200, "", "redis", "", true},
		{"list", "GET", "/api/instances", "", 200, "", "redis", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, a := do(t, c.method, c.path, c.body)
			if status != c.wantStatus {
				t.Errorf("got status %d (%+v), want %d", status, a, c.wantStatus)
			}
			if a.State != c.wantState {
				t.Errorf("got state %q, want %q", a.State, c.wantState)
			}
			if a.Store != c.wantStore {
				t.Errorf("got store %q, want %q", a.Store, c.wantStore)
			}
			if !strings.Contains(a.Error, c.wantError) {
				t.Errorf("got error %q, want it to contain %q", a.Error, c.wantError)
			}
			if !c.wantList {
				return
			}
			if a.Kill != killCall {
				t.Errorf("got kill %q, want %q: how this platform kills, for the dashboard's button", a.Kill, killCall)
			}
			if len(a.Instances) != 2 {
				t.Fatalf("got %d instances, want 2", len(a.Instances))
			}
			for _, in := range a.Instances {
				if in.State != StateRunning || in.Store != c.wantStore || in.PID == 0 || !strings.HasPrefix(in.URL, "http://127.0.0.1:") {
					t.Errorf("%+v, want running on %s with pid and url", in, c.wantStore)
				}
			}
		})
	}
}
