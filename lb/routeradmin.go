package lb

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"stickylab/internal/jsonhttp"
	"stickylab/lb/listener"
)

// EventRule is the kind of the event published when a rule's forward
// weights change (PUT /api/rules/{priority}).
const EventRule = "rule"

// AdminHandler returns the admin API of a Router: the Balancer's (the
// dashboard, PUT /api/stickiness … address the primary group, see Primary;
// GET /api/events and /metrics cover every group), where
//
//	GET  /api/targets                    every group's targets, each with "target_group": the primary group's first, then the others' in file order
//	POST /api/targets/{name}/drain       the primary group's target name, else the one other group's; 409 naming the groups when several have it
//	POST /api/targets/{name}/register    the same
//
// and
//
//	GET  /api/target-groups                                 {"target_groups": [TargetGroupStatus...]}
//	POST /api/target-groups/{tg}/targets/{name}/drain       deregister from the group tg: 202, or 404
//	POST /api/target-groups/{tg}/targets/{name}/register    register again in tg
//	GET  /api/target-groups/{tg}/stickiness                 the group's stickiness, as GET /api/stickiness
//	PUT  /api/target-groups/{tg}/stickiness                 change it, as PUT /api/stickiness; app stickiness refused on a group of a weighted forward
//	GET  /api/rules                                         {"rules": [...], "default_action": {...}}
//	PUT  /api/rules/{priority}                              {"weights": {"blue": 0, "green": 100}}; priority "default" for the default action
//
// with the same cross-origin protection; Serve puts it behind the same Host
// check.
func (rt *Router) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/targets", rt.getTargets)
	mux.HandleFunc("POST /api/targets/{name}/drain", rt.targetAction((*Balancer).Drain, "drain", http.StatusAccepted))
	mux.HandleFunc("POST /api/targets/{name}/register", rt.targetAction((*Balancer).Register, "register", http.StatusOK))
	mux.HandleFunc("GET /api/target-groups", rt.getTargetGroups)
	mux.HandleFunc("POST /api/target-groups/{tg}/targets/{name}/drain", rt.groupTargetAction((*Balancer).Drain, http.StatusAccepted))
	mux.HandleFunc("POST /api/target-groups/{tg}/targets/{name}/register", rt.groupTargetAction((*Balancer).Register, http.StatusOK))
	mux.HandleFunc("GET /api/target-groups/{tg}/stickiness", rt.groupStickiness)
	mux.HandleFunc("PUT /api/target-groups/{tg}/stickiness", rt.groupStickiness)
	mux.HandleFunc("GET /api/rules", rt.getRules)
	mux.HandleFunc("PUT /api/rules/{priority}", rt.putRule)
	// Everything else is the primary group's, which guards itself.
	mux.Handle("/", rt.primary.AdminHandler())
	return crossOriginGuard(mux)
}

// TargetGroupStatus is a target group as GET /api/target-groups shows it.
type TargetGroupStatus struct {
	Name                string          `json:"name"`
	Algorithm           string          `json:"algorithm"`
	Stickiness          stickinessJSON  `json:"stickiness"`
	HealthCheck         healthCheckJSON `json:"health_check"`
	DeregistrationDelay string          `json:"deregistration_delay"`
	Targets             []TargetStatus  `json:"targets"`
}

type healthCheckJSON struct {
	Path               string `json:"path"`
	Interval           string `json:"interval"`
	Timeout            string `json:"timeout"`
	HealthyThreshold   int    `json:"healthy_threshold"`
	UnhealthyThreshold int    `json:"unhealthy_threshold"`
	Matcher            string `json:"matcher"`
}

// TargetGroups returns every target group with its targets, in file order.
func (rt *Router) TargetGroups() []TargetGroupStatus {
	out := make([]TargetGroupStatus, len(rt.order))
	for i, b := range rt.order {
		c := b.cfg
		matcher := "200-299"
		if c.HealthMatcher != nil {
			matcher = c.HealthMatcher.String()
		}
		out[i] = TargetGroupStatus{
			Name: b.group, Algorithm: c.Algorithm, Stickiness: toJSON(b.Stickiness()),
			HealthCheck: healthCheckJSON{
				Path: c.HealthPath, Interval: formatDuration(c.HealthInterval), Timeout: formatDuration(c.HealthTimeout),
				HealthyThreshold: c.HealthyThreshold, UnhealthyThreshold: c.UnhealthyThreshold, Matcher: matcher,
			},
			DeregistrationDelay: formatDuration(c.DeregistrationDelay),
			Targets:             b.Targets(),
		}
	}
	return out
}

func (rt *Router) getTargetGroups(w http.ResponseWriter, r *http.Request) {
	jsonhttp.Write(w, http.StatusOK, map[string]any{"target_groups": rt.TargetGroups()})
}

// groupTargetAction serves POST /api/target-groups/{tg}/targets/{name}/<action>.
func (rt *Router) groupTargetAction(act func(b *Balancer, name string) (TargetStatus, bool), status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tg := r.PathValue("tg")
		b := rt.groups[tg]
		if b == nil {
			jsonhttp.Error(w, http.StatusNotFound, fmt.Sprintf("no target group named %q (see GET /api/target-groups)", tg))
			return
		}
		targetAction(func(name string) (TargetStatus, bool) { return act(b, name) }, status)(w, r)
	}
}

// groupStickiness serves GET and PUT /api/target-groups/{tg}/stickiness
// with the group's balancer, as /api/stickiness does for the primary one.
func (rt *Router) groupStickiness(w http.ResponseWriter, r *http.Request) {
	tg := r.PathValue("tg")
	b := rt.groups[tg]
	if b == nil {
		jsonhttp.Error(w, http.StatusNotFound, fmt.Sprintf("no target group named %q (see GET /api/target-groups)", tg))
		return
	}
	if r.Method == http.MethodGet {
		b.getStickiness(w, r)
		return
	}
	if rule := rt.weightedRuleOf(tg); rule != "" {
		b.putStickinessExcept(w, r, StickyApp, fmt.Sprintf("mode %q: group %s is in the weighted forward of rule %s, and ALB does not support application-based stickiness with weighted target groups", StickyApp, tg, rule))
		return
	}
	b.putStickiness(w, r)
}

// weightedRuleOf returns the key of a rule whose forward sends to the
// group tg among others, "" when none does.
func (rt *Router) weightedRuleOf(tg string) string {
	l := rt.rules.Load()
	keys := []string{DefaultRule}
	for _, r := range l.Rules {
		keys = append(keys, ruleKey(r.Priority))
	}
	for _, k := range keys {
		if fw := ruleAction(l, k).Forward; fw != nil && len(fw.TargetGroups) > 1 &&
			slices.ContainsFunc(fw.TargetGroups, func(g listener.WeightedGroup) bool { return g.Name == tg }) {
			return k
		}
	}
	return ""
}

// ruleJSON is a rule as GET /api/rules shows it.
type ruleJSON struct {
	Priority   int            `json:"priority"`
	Conditions map[string]any `json:"conditions"`
	Action     map[string]any `json:"action"`
}

func (rt *Router) getRules(w http.ResponseWriter, r *http.Request) {
	l := rt.rules.Load()
	rules := make([]ruleJSON, len(l.Rules))
	for i, rule := range l.Rules {
		rules[i] = ruleJSON{Priority: rule.Priority, Conditions: conditionsJSON(&rule.Conditions), Action: actionJSON(&rule.Action)}
	}
	jsonhttp.Write(w, http.StatusOK, map[string]any{"rules": rules, "default_action": actionJSON(&l.DefaultAction)})
}

// conditionsJSON writes a rule's conditions with the file's keys.
func conditionsJSON(c *listener.Conditions) map[string]any {
	out := map[string]any{}
	if len(c.PathPattern) > 0 {
		out["path_pattern"] = c.PathPattern
	}
	if len(c.HostHeader) > 0 {
		out["host_header"] = c.HostHeader
	}
	if len(c.HTTPRequestMethod) > 0 {
		out["http_request_method"] = c.HTTPRequestMethod
	}
	for _, h := range c.HTTPHeader {
		out["http_header"] = append(anySlice(out["http_header"]), map[string]any{"name": h.Name, "values": h.Values})
	}
	for _, q := range c.QueryString {
		out["query_string"] = append(anySlice(out["query_string"]), map[string]string{"key": q.Key, "value": q.Value})
	}
	for _, p := range c.SourceIP {
		out["source_ip"] = append(anySlice(out["source_ip"]), p.String())
	}
	return out
}

func anySlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// actionJSON writes an action with the file's keys and its type.
func actionJSON(a *listener.Action) map[string]any {
	out := map[string]any{"type": a.Type()}
	switch {
	case a.Forward != nil:
		groups := make([]map[string]any, len(a.Forward.TargetGroups))
		for i, g := range a.Forward.TargetGroups {
			groups[i] = map[string]any{"name": g.Name, "weight": g.Weight}
		}
		fw := map[string]any{"target_groups": groups}
		if s := a.Forward.Stickiness; s.Enabled {
			fw["stickiness"] = map[string]any{"enabled": true, "duration": formatDuration(s.Duration)}
		}
		out["forward"] = fw
	case a.Redirect != nil:
		rd := a.Redirect
		out["redirect"] = map[string]any{"protocol": rd.Protocol, "host": rd.Host, "port": rd.Port, "path": rd.Path, "query": rd.Query, "status_code": "HTTP_" + strconv.Itoa(rd.StatusCode)}
	case a.FixedResponse != nil:
		f := a.FixedResponse
		out["fixed_response"] = map[string]any{"status_code": strconv.Itoa(f.StatusCode), "content_type": f.ContentType, "message_body": f.MessageBody}
	}
	return out
}

// putRule serves PUT /api/rules/{priority} {"weights": {...}}: new weights
// for the groups of a weighted forward (the blue/green shift). Groups left
// out keep their weight; a client with a valid group cookie stays on its
// group.
func (rt *Router) putRule(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Weights map[string]int `json:"weights"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || len(in.Weights) == 0 {
		jsonhttp.Error(w, http.StatusBadRequest, "body must be JSON like {\"weights\":{\"blue\":0,\"green\":100}}")
		return
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		jsonhttp.Error(w, http.StatusBadRequest, "body must hold one JSON object")
		return
	}
	key := r.PathValue("priority")
	old, l, err := rt.setWeights(key, in.Weights)
	if err != nil {
		var nf *ruleNotFound
		status := http.StatusBadRequest
		if errors.As(err, &nf) {
			status = http.StatusNotFound
		}
		jsonhttp.Error(w, status, err.Error())
		return
	}
	a := ruleAction(l, key)
	rt.cfg.Logger.Info("lb: rule weights changed", "rule", key, "from", old, "to", weightsText(a.Forward))
	rt.shared.events.publish(Event{Time: time.Now(), Kind: EventRule, Rule: key, PrevState: old, State: weightsText(a.Forward),
		Reason: "weights of rule " + key + ": " + old + " → " + weightsText(a.Forward)})
	jsonhttp.Write(w, http.StatusOK, actionJSON(a))
}

// ruleNotFound is setWeights' error for a rule that does not exist.
type ruleNotFound struct{ key string }

func (e *ruleNotFound) Error() string {
	return fmt.Sprintf("no rule with priority %q (see GET /api/rules; the default action is \"default\")", e.key)
}

// ruleAction returns the action of the rule key in l, or nil.
func ruleAction(l *listener.Listener, key string) *listener.Action {
	if key == DefaultRule {
		return &l.DefaultAction
	}
	for i := range l.Rules {
		if ruleKey(l.Rules[i].Priority) == key {
			return &l.Rules[i].Action
		}
	}
	return nil
}

// setWeights replaces the listener with one whose rule key has the given
// weights, and returns the old weights and the new listener.
func (rt *Router) setWeights(key string, weights map[string]int) (string, *listener.Listener, error) {
	for {
		cur := rt.rules.Load()
		next := *cur
		next.Rules = slices.Clone(cur.Rules)
		a := ruleAction(&next, key)
		if a == nil {
			return "", nil, &ruleNotFound{key}
		}
		if a.Forward == nil {
			return "", nil, fmt.Errorf("rule %s: its action is %s; only a forward has weights", key, a.Type())
		}
		fw := *a.Forward
		fw.TargetGroups = slices.Clone(fw.TargetGroups)
		total := 0
		for name, w := range weights {
			i := slices.IndexFunc(fw.TargetGroups, func(g listener.WeightedGroup) bool { return g.Name == name })
			if i < 0 {
				names := make([]string, len(fw.TargetGroups))
				for j, g := range fw.TargetGroups {
					names[j] = g.Name
				}
				return "", nil, fmt.Errorf("rule %s: weights: %q is not one of its target groups (%s)", key, name, strings.Join(names, ", "))
			}
			if w < 0 || w > 999 {
				return "", nil, fmt.Errorf("rule %s: weights: %s: %d is not allowed; want 0 to 999", key, name, w)
			}
			fw.TargetGroups[i].Weight = w
		}
		for _, g := range fw.TargetGroups {
			total += g.Weight
		}
		if total == 0 {
			return "", nil, fmt.Errorf("rule %s: weights: at least one group needs a weight above 0", key)
		}
		old := weightsText(a.Forward)
		a.Forward = &fw
		if rt.rules.CompareAndSwap(cur, &next) {
			return old, &next, nil
		}
	}
}

// weightsText writes a forward's weights as "blue=80 green=20".
func weightsText(fw *listener.Forward) string {
	parts := make([]string, len(fw.TargetGroups))
	for i, g := range fw.TargetGroups {
		parts[i] = g.Name + "=" + strconv.Itoa(g.Weight)
	}
	return strings.Join(parts, " ")
}
