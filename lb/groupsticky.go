package lb

import (
	"math/rand/v2"
	"net/http"
	"time"

	"stickylab/lb/listener"
)

// Group-level stickiness (ALB's TargetGroupStickinessConfig of a forward):
// AWSALBTG and AWSALBTGCORS name the target group a client was first sent
// to, sealed as AWSALB is, so that it stays on that group while the
// forward's weights change, until the cookie's duration runs out without a
// request. Target stickiness then applies inside the group.
const (
	cookieTG     = "AWSALBTG"
	cookieTGCORS = "AWSALBTGCORS"

	purposeGroup byte = 0x13 // AWSALBTG and AWSALBTGCORS
)

// route is what a Router's rule decided for a forwarded request: the rule,
// and the group cookie to set on the response.
type route struct {
	rule string // ruleKey: the priority, or DefaultRule

	// Group stickiness, when the forward has it: the group cookie names
	// group for duration from the response on (sliding, as AWSALB).
	cookies  *cookieWriter // nil: no group stickiness
	group    string
	client   uint64
	duration time.Duration
}

// setCookies adds AWSALBTG and AWSALBTGCORS to a response, with the
// attributes of AWSALB and AWSALBCORS (7-day Expires, Path=/; the CORS one
// SameSite=None; Secure).
func (rt *route) setCookies(h http.Header, now time.Time) {
	if rt == nil || rt.cookies == nil {
		return
	}
	a := rt.cookies.attrsAt(now)
	value := string(rt.cookies.codec.appendSeal(nil, purposeGroup, stickyValue{deadline: deadline(now, rt.duration), client: rt.client, target: rt.group}))
	h["Set-Cookie"] = append(h["Set-Cookie"], cookieTG+"="+value+a.plain, cookieTGCORS+"="+value+a.cors)
}

// pickGroup chooses the target group of a forward for r: the one its group
// cookie names while the cookie is valid and the group is still one of the
// forward's (whatever its weight now, 0 included, as on ALB), else one by
// weight. key is the rule's key.
func (rt *Router) pickGroup(fw *listener.Forward, key string, r *http.Request, now time.Time) (string, *route) {
	info := &route{rule: key}
	if !fw.Stickiness.Enabled {
		return rt.weighted(fw, key), info
	}
	info.cookies, info.duration = &rt.cookies, fw.Stickiness.Duration
	value, ok := cookieValue(r.Header, cookieTG)
	if !ok {
		value, _ = cookieValue(r.Header, cookieTGCORS)
	}
	if value != "" {
		v, ok := rt.cookies.codec.open(value, purposeGroup, func(b []byte) string {
			for _, g := range fw.TargetGroups {
				if g.Name == string(b) {
					return g.Name
				}
			}
			return ""
		})
		if ok {
			info.client = v.client
			if v.target != "" && now.UnixMilli() < v.deadline {
				info.group = v.target
				return v.target, info
			}
		}
	}
	if info.client == 0 {
		info.client = rand.Uint64() | 1
	}
	info.group = rt.weighted(fw, key)
	return info.group, info
}

// weighted picks one of fw's groups in proportion to the weights: of every
// sum-of-weights choices, each group gets exactly its weight, in turn. A
// forward to one group always picks it.
func (rt *Router) weighted(fw *listener.Forward, key string) string {
	gs := fw.TargetGroups
	if len(gs) == 1 {
		return gs[0].Name
	}
	total := 0
	for _, g := range gs {
		total += g.Weight
	}
	if total == 0 {
		return gs[0].Name // refused by the parser and by PUT /api/rules
	}
	n := int((rt.picks[key].Add(1) - 1) % uint64(total))
	for _, g := range gs {
		if n < g.Weight {
			return g.Name
		}
		n -= g.Weight
	}
	return gs[len(gs)-1].Name
}
