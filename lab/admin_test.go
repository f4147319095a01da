package lab

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestInstanceRoutes(t *testing.T) {
	f := testFleet(t, FleetConfig{Instances: 2})
	mux := http.NewServeMux()
	InstanceRoutes(f)(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	type answer struct {
		Error     string     `json:"error"`
		State     State      `json:"state"`
		Name      string     `json:"name"`
		Store     string     `json:"store"`
		Instances []Instance `json:"instances"`
	}
	do := func(method, path, body string) (int, answer) {
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
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
		}
		var a answer
		if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
			t.Fatalf("%s %s: decode: %v", method, path, err)
		}
		return resp.StatusCode, a
	}

	// The cases run in order: each starts from the state the previous left.
	cases := []struct {
		name, method, path, body string
		wantStatus               int
		wantState                State  // for answers about one instance
		wantError                string // substring of the error message
	}{
		{"kill", "POST", "/api/instances/app-1/kill", "", 200, StateKilled, ""},
		{"kill again", "POST", "/api/instances/app-1/kill", "", 409, "", "app-1 is not running (killed)"},
		{"kill unknown", "POST", "/api/instances/app-7/kill", "", 404, "", `no instance named "app-7" (instances: app-1, app-2)`},
		{"restart", "POST", "/api/instances/app-1/restart", "", 200, StateRunning, ""},
		{"restart unknown", "POST", "/api/instances/nope/restart", "", 404, "", `no instance named "nope"`},
		{"store bad json", "PUT", "/api/store", "{", 400, "", "body must be JSON"},
		{"store unknown field", "PUT", "/api/store", `{"mode":"redis"}`, 400, "", "body must be JSON"},
		{"store bad value", "PUT", "/api/store", `{"store":"disk"}`, 400, "", `store "disk": must be memory or redis`},
		{"kill with GET", "GET", "/api/instances/app-1/kill", "", 405, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
			if c.wantStatus == 405 {
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 405 {
					t.Errorf("got %d, want 405", resp.StatusCode)
				}
				return
			}
			status, a := do(c.method, c.path, c.body)
			if status != c.wantStatus {
				t.Errorf("got status %d (%+v), want %d", status, a, c.wantStatus)
			}
			if a.State != c.wantState {
				t.Errorf("got state %q, want %q", a.State, c.wantState)
			}
			if !strings.Contains(a.Error, c.wantError) {
				t.Errorf("got error %q, want it to contain %q", a.Error, c.wantError)
			}
		})
	}

	status, a := do("GET", "/api/instances", "")
	if status != 200 || a.Store != "memory" || len(a.Instances) != 2 {
		t.Fatalf("GET /api/instances: got %d store %q %d instances, want 200 memory 2", status, a.Store, len(a.Instances))
	}
	for _, in := range a.Instances {
		if in.State != StateRunning || in.PID == 0 || in.Port == 0 || !strings.HasPrefix(in.URL, "http://127.0.0.1:") {
			t.Errorf("GET /api/instances: %+v, want running with pid, port and url", in)
		}
	}
}
