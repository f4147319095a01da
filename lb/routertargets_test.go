package lb

import (
	"net/http"
	"testing"
)

// TestRouterAdminTargetsEveryGroup: under a configuration file, GET
// /api/targets lists the targets of every group, each with its group's
// name, the primary group's first; POST /api/targets/{name}/drain and
// register address the primary group's target of that name, else the one
// group that has one, and answer 409 when several other groups do.
func TestRouterAdminTargetsEveryGroup(t *testing.T) {
	bs, _ := backends(t, 4)
	// web is the primary group (the default action's), though not first.
	r := serveRouter(t, `
listener:
  default_action: {forward: {target_group: web}}
  rules:
    - {priority: 1, conditions: {path_pattern: ["/api/*"]}, action: {forward: {target_group: api}}}
    - {priority: 2, conditions: {path_pattern: ["/x/*"]}, action: {forward: {target_group: x}}}
target_groups:
  - {name: api, targets: [app-2={app-2}, app-3={app-3}]}
  - {name: web, targets: [app-1={app-1}, app-2={app-2}]}
  - {name: x, targets: [app-3={app-3}, app-4={app-4}]}
`, bs, Config{})
	type groupTarget struct {
		Name        string
		URL         string
		State       string
		TargetGroup string `json:"target_group"`
	}
	var got struct{ Targets []groupTarget }
	if code := adminJSON(t, "GET", r.admin+"/api/targets", "", &got); code != http.StatusOK {
		t.Fatalf("GET /api/targets: status %d, want 200", code)
	}
	want := [][2]string{{"web", "app-1"}, {"web", "app-2"}, {"api", "app-2"}, {"api", "app-3"}, {"x", "app-3"}, {"x", "app-4"}}
	if len(got.Targets) != len(want) {
		t.Fatalf("GET /api/targets: %+v, want %v (group, name)", got.Targets, want)
	}
	for i, w := range want {
		g := got.Targets[i]
		if g.TargetGroup != w[0] || g.Name != w[1] || g.URL == "" || g.State != StateHealthy {
			t.Errorf("target %d: %+v, want %s in %s, healthy, with its URL", i, g, w[1], w[0])
		}
	}

	for _, tc := range []struct {
		name, path string
		status     int
		group      string // the group acted on; "" for none
	}{
		{"primary's", "/api/targets/app-1/drain", http.StatusAccepted, "web"},
		{"primary's, also in another group", "/api/targets/app-2/drain", http.StatusAccepted, "web"},
		{"another group's only", "/api/targets/app-4/drain", http.StatusAccepted, "x"},
		{"in two other groups", "/api/targets/app-3/drain", http.StatusConflict, ""},
		{"in no group", "/api/targets/nope/drain", http.StatusNotFound, ""},
		{"register, another group's only", "/api/targets/app-4/register", http.StatusOK, "x"},
		{"register, in two other groups", "/api/targets/app-3/register", http.StatusConflict, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ans struct {
				groupTarget
				Error string
			}
			code := adminJSON(t, "POST", r.admin+tc.path, "", &ans)
			if code != tc.status {
				t.Fatalf("POST %s: %d %+v, want %d", tc.path, code, ans, tc.status)
			}
			if tc.group == "" {
				if ans.Error == "" {
					t.Errorf("POST %s: %d without an error message", tc.path, code)
				}
				return
			}
			if ans.TargetGroup != tc.group {
				t.Errorf("POST %s: acted on group %q, want %q", tc.path, ans.TargetGroup, tc.group)
			}
		})
	}
	// What the drains did, group by group.
	for _, c := range []struct {
		group, name string
		drained     bool
	}{
		{"web", "app-1", true}, {"web", "app-2", true}, {"api", "app-2", false},
		{"api", "app-3", false}, {"x", "app-3", false},
	} {
		st := r.groupTarget(c.group, c.name).State
		if drained := st == StateDraining || st == StateUnused; drained != c.drained {
			t.Errorf("%s in %s is %s, want drained %v", c.name, c.group, st, c.drained)
		}
	}
	if st := r.groupTarget("x", "app-4").State; st != StateInitial && st != StateHealthy {
		t.Errorf("app-4 in x is %s after its register, want initial or healthy", st)
	}
}
