package lab

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"
)

// shopClient is a browser-like client of the demo's shop with its own
// cookie jar.
type shopClient struct {
	t   *testing.T
	app string
	c   *http.Client
}

func newShopClient(t *testing.T, app string) *shopClient {
	jar, _ := cookiejar.New(nil)
	return &shopClient{t: t, app: app, c: &http.Client{Jar: jar, Timeout: 5 * time.Second}}
}

// do sends a request and returns the status and body.
func (s *shopClient) do(method, path, body string) (int, string) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.app+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// session sends a request to a JSON route and decodes the session it
// answers.
func (s *shopClient) session(method, path, body string) sessionView {
	s.t.Helper()
	code, data := s.do(method, path, body)
	var v sessionView
	if code != http.StatusOK || json.Unmarshal([]byte(data), &v) != nil {
		s.t.Fatalf("%s %s: got %d %s, want 200 and the session", method, path, code, data)
	}
	return v
}

// TestDemoSetupBlogPaths: the blog's path routing. /api/* and the pages
// are two target groups of the same instances, each with app-cookie
// stickiness; a user logged in through /api is served the page by the
// same instance (the cookies name the target, inferred), and killing it
// logs the user out, as in the blog.
func TestDemoSetupBlogPaths(t *testing.T) {
	d := startDemo(t, "-setup", "blog-paths", "-instances", "3")
	if !strings.Contains(d.banner, "rule 10: path /api or /api/* → group api") || !strings.Contains(d.banner, "group pages: app-1, app-2, app-3; app_cookie stickiness on stickylab_session") {
		t.Errorf("banner does not tell the routing:\n%s", d.banner)
	}
	u := newShopClient(t, d.app)
	first := u.session("POST", "/api/login", `{"username":"ada"}`)
	for range 3 {
		if code, page := u.do("GET", "/", ""); code != 200 || !strings.Contains(page, first.Instance) || !strings.Contains(page, "ada") {
			t.Fatalf("GET /: %d, want the page of %s with ada logged in", code, first.Instance)
		}
		if s := u.session("GET", "/api/session", ""); !s.LoggedIn || s.Instance != first.Instance {
			t.Fatalf("GET /api/session: %+v, want ada on %s", s, first.Instance)
		}
	}
	var groups struct {
		TargetGroups []struct {
			Name    string
			Targets []struct{ Name, State string }
		} `json:"target_groups"`
	}
	resp, err := http.Get(d.admin + "/api/target-groups")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&groups)
	resp.Body.Close()
	if len(groups.TargetGroups) != 2 || groups.TargetGroups[0].Name != "pages" || groups.TargetGroups[1].Name != "api" || len(groups.TargetGroups[1].Targets) != 3 {
		t.Fatalf("GET /api/target-groups: %+v, want pages and api with three targets each", groups)
	}
	d.post(t, "/api/instances/"+first.Instance+"/kill")
	if s := u.session("GET", "/api/session", ""); s.LoggedIn || s.Instance == first.Instance {
		t.Errorf("after killing %s: %+v, want another instance and logged out (sessions in memory)", first.Instance, s)
	}
}

// TestDemoSetupBlueGreen: every new client goes to blue (app-1, app-2)
// until PUT /api/rules/default moves the weights; then a logged-in client
// stays on its instance in blue (group and target stickiness) while new
// clients go to green (app-3).
func TestDemoSetupBlueGreen(t *testing.T) {
	d := startDemo(t, "-setup", "blue-green", "-instances", "3")
	ada := newShopClient(t, d.app)
	first := ada.session("POST", "/api/login", `{"username":"ada"}`)
	if first.Instance == "app-3" {
		t.Fatalf("a new client went to green's app-3 with weights 100/0")
	}
	d.send(t, http.MethodPut, "/api/rules/default", `{"weights":{"blue":0,"green":100}}`)
	for range 3 {
		if s := ada.session("GET", "/api/session", ""); !s.LoggedIn || s.Instance != first.Instance {
			t.Fatalf("after the shift: %+v, want ada still on %s", s, first.Instance)
		}
	}
	if s := newShopClient(t, d.app).session("GET", "/api/session", ""); s.Instance != "app-3" {
		t.Errorf("a new client after the shift went to %s, want green's app-3", s.Instance)
	}
	d.await(t, "weights of rule default: blue=100 green=0 → blue=0 green=100", nil)
}
