package lb

import (
	"fmt"
	"net/http"
	"strings"

	"stickylab/internal/jsonhttp"
)

// groupTargetJSON is a target as a Router's GET /api/targets and POST
// /api/targets/{name}/… show it: the first round's fields and the name of
// the group it is registered in.
type groupTargetJSON struct {
	TargetStatus
	TargetGroup string `json:"target_group"`
}

// allTargets returns the targets of every group, the primary group's first
// (the list GET /api/targets gave before groups were listed, in its order),
// then the other groups' in file order. A target registered in several
// groups is listed once per group, with that group's state and counters.
func (rt *Router) allTargets() []groupTargetJSON {
	groups := append([]*Balancer{rt.primary}, rt.order...)
	var out []groupTargetJSON
	for i, b := range groups {
		if i > 0 && b == rt.primary {
			continue
		}
		for _, st := range b.Targets() {
			out = append(out, groupTargetJSON{st, b.group})
		}
	}
	return out
}

func (rt *Router) getTargets(w http.ResponseWriter, r *http.Request) {
	jsonhttp.Write(w, http.StatusOK, map[string]any{"targets": rt.allTargets()})
}

// targetAction serves POST /api/targets/{name}/<verb> under a Router. The
// name addresses the primary group's target, as before groups were listed;
// a name the primary group does not have addresses the one other group
// that has it. When several other groups have it the route cannot choose:
// 409, naming the groups and their own route (POST
// /api/target-groups/{tg}/targets/{name}/<verb>); 404 when no group has it.
func (rt *Router) targetAction(act func(b *Balancer, name string) (TargetStatus, bool), verb string, status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		var in []*Balancer
		if rt.primary.hasTarget(name) {
			in = append(in, rt.primary)
		} else {
			for _, b := range rt.order {
				if b.hasTarget(name) {
					in = append(in, b)
				}
			}
		}
		switch len(in) {
		case 0:
			jsonhttp.Error(w, http.StatusNotFound, fmt.Sprintf("no target named %q in any target group (see GET /api/targets)", name))
		case 1:
			if st, ok := act(in[0], name); ok {
				jsonhttp.Write(w, status, groupTargetJSON{st, in[0].group})
				return
			}
			jsonhttp.Error(w, http.StatusNotFound, fmt.Sprintf("no target named %q in target group %s", name, in[0].group))
		default:
			names := make([]string, len(in))
			for i, b := range in {
				names[i] = b.group
			}
			jsonhttp.Error(w, http.StatusConflict, fmt.Sprintf("target %q is in target groups %s, and not in the primary group %s: choose one with POST /api/target-groups/{tg}/targets/%s/%s",
				name, strings.Join(names, ", "), rt.primary.group, name, verb))
		}
	}
}

// hasTarget reports whether the group has a target named name, whatever
// its state.
func (b *Balancer) hasTarget(name string) bool {
	return b.pool.load().byName[name] != nil
}
