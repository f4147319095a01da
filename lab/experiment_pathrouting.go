package lab

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"stickylab/lb"
	"stickylab/lb/listener"
)

// The path-routing scenario's measures.
const (
	mSplitUsers = "users split"
	mOutAPI     = "out on /api"
	mOutPage    = "out on page"
	mItemsSent  = "items via /api"
	mItemsGone  = "missing on page"
)

func pathRoutingScenario() Scenario {
	var rows []Row
	for _, sticky := range []string{lb.StickyApp, lb.StickyDuration, lb.StickyNone} {
		for _, store := range []string{"memory", "redis", "cookie"} {
			rows = append(rows, Row{Sticky: sticky, Store: store})
		}
	}
	return tableScenario{
		name:  "path-routing",
		about: "the blog's /api and page routes on two target groups of the same instances (demo -setup blog-paths)",
		rows:  rows,
		setup: func(_ ExperimentConfig, r Row) rigConfig {
			return rigConfig{Store: r.Store, Routing: func(instances []Instance, hc lb.Config) (*listener.Config, error) {
				return blogPaths(instances, hc, r.Sticky)
			}}
		},
		run: pathRoutingRow,
		table: func(cfg ExperimentConfig, rows []Row) *Table {
			return &Table{
				Setup: fmt.Sprintf("%d users, %d rounds each, %d instances in both groups; the pages group has app-cookie stickiness, STICKY is the api group's",
					cfg.Users, cfg.Requests, cfg.Instances),
				Columns: []string{mSplitUsers, mOutAPI, mOutPage, mItemsSent, mItemsGone},
				Legend: []string{
					"users split: users whose /api and page requests of one round reached different instances",
					"out on /api, out on page: requests answered logged out on each route",
					"missing on page: items the API acknowledged that the user's last page did not show",
				},
				Findings: pathRoutingFindings(rows, cfg.Users),
				Method: "The listener of demo -setup blog-paths: /api and /api/* to the group api, the rest to the group pages, the same instances in both, " +
					"the pages group with app-cookie stickiness on the session cookie; each row sets the api group's stickiness (app: the blog's setup; " +
					"duration: lb_cookie; none). Each user logs in with the page's form (POST /login, then the page), then makes N rounds of " +
					"GET /api/session, POST /api/cart and GET /, noting the instance that answered each and whether it showed the user logged in and its cart. " +
					"Nobody logs in again after being seen logged out.",
			}
		},
	}.scenario()
}

// blogPaths is demo -setup blog-paths with the api group's stickiness set
// to sticky (app: the setup as it is).
func blogPaths(instances []Instance, hc lb.Config, sticky string) (*listener.Config, error) {
	file, err := setupConfig(SetupBlogPaths, instances, AppCookie, hc)
	if err != nil {
		return nil, err
	}
	api := file.TargetGroup("api")
	if api == nil {
		return nil, fmt.Errorf("setup %s: no group api", SetupBlogPaths)
	}
	switch sticky {
	case lb.StickyApp:
	case lb.StickyDuration:
		api.Stickiness.Type, api.Stickiness.CookieName = listener.LBCookie, ""
	case lb.StickyNone:
		api.Stickiness.Enabled = false
	default:
		return nil, fmt.Errorf("setup %s: stickiness %q of the api group: want app, duration or none", SetupBlogPaths, sticky)
	}
	return file, nil
}

// routesSeen is what one user saw on the two routes.
type routesSeen struct {
	split             bool
	outAPI, outPage   int
	sent, missingLast int
}

func pathRoutingRow(ctx context.Context, cfg ExperimentConfig, r *rig, row *Row) error {
	users, err := r.crowd(1, cfg.Users)
	if err != nil {
		return err
	}
	seen := make([]routesSeen, len(users))
	tallies := together(ctx, users, 0, func(ctx context.Context, u *user, t *tally) {
		i := slices.Index(users, u)
		seen[i] = u.useBothRoutes(ctx, t, cfg.Requests)
	})
	row.count(tallies)
	var sum routesSeen
	split := 0
	for _, s := range seen {
		if s.split {
			split++
		}
		sum.outAPI += s.outAPI
		sum.outPage += s.outPage
		sum.sent += s.sent
		sum.missingLast += s.missingLast
	}
	row.set(mSplitUsers, float64(split))
	row.set(mOutAPI, float64(sum.outAPI))
	row.set(mOutPage, float64(sum.outPage))
	row.set(mItemsSent, float64(sum.sent))
	row.set(mItemsGone, float64(sum.missingLast))
	return nil
}

// useBothRoutes logs the user in on the page, then makes rounds of GET
// /api/session, POST /api/cart and GET /, and returns what it saw. A user
// seen logged out counts in t as such, and does not log in again.
func (u *user) useBothRoutes(ctx context.Context, t *tally, rounds int) routesSeen {
	var seen routesSeen
	if p, ok := u.page(ctx, t, http.MethodPost, "/login", url.Values{"username": {u.name}}); !ok || p.User != u.name {
		t.loggedOut = true // never logged in: counted with those logged out
		return seen
	}
	var added []string
	for i := range rounds {
		var s sessionView
		apiAt := ""
		if _, ok := u.do(ctx, t, http.MethodGet, "/api/session", nil, &s); ok {
			apiAt = s.Instance
			if !s.LoggedIn || s.User != u.name {
				seen.outAPI++
				t.loggedOut = true
			}
		}
		item := fmt.Sprintf("%s-item-%d", u.name, i+1)
		if status, _ := u.addItem(ctx, t, item); status/100 == 2 {
			added = append(added, item)
		}
		p, ok := u.page(ctx, t, http.MethodGet, "/", nil)
		if !ok {
			continue
		}
		if p.User != u.name {
			seen.outPage++
			t.loggedOut = true
		}
		if apiAt != "" && apiAt != p.Instance {
			seen.split = true
		}
		seen.missingLast = 0
		for _, it := range added {
			if !slices.Contains(p.Cart, it) {
				seen.missingLast++
			}
		}
	}
	seen.sent = len(added)
	return seen
}

// pageView is what a user reads on the page: the instance that answered,
// who it says is logged in ("" for nobody) and the cart.
type pageView struct {
	Instance string
	User     string
	Cart     []string
}

// page requests a page route (a form is posted when form is not nil, and
// the redirect to / followed) and reads the page it ends on. It reports
// false, counting a failure, when there is no 2xx page.
func (u *user) page(ctx context.Context, t *tally, method, path string, form url.Values) (pageView, bool) {
	t.requests++
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u.base+path, body)
	if err != nil {
		t.fail(err.Error())
		return pageView{}, false
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := u.client.Do(req)
	if err != nil {
		t.fail(failure(err))
		return pageView{}, false
	}
	defer resp.Body.Close()
	u.last.Store(time.Now().UnixNano())
	if resp.Request.URL.Path != path {
		t.requests++ // the redirect followed
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<10))
	switch {
	case resp.StatusCode/100 != 2:
		t.fail(fmt.Sprintf("%s %s: status %d", method, path, resp.StatusCode))
		return pageView{}, false
	case err != nil:
		t.fail(failure(err))
		return pageView{}, false
	}
	p := readPage(string(data))
	p.Instance = resp.Header.Get("X-Stickylab-Instance")
	t.served[p.Instance] = true
	return p, true
}

// readPage reads who is logged in and the cart from the app's page
// (app/templates/page.html). The lab's user names and items need no HTML
// escaping, so they appear as they are.
func readPage(html string) pageView {
	var p pageView
	if _, rest, ok := strings.Cut(html, "logged in as <strong>"); ok {
		p.User, _, _ = strings.Cut(rest, "</strong>")
	}
	if _, rest, ok := strings.Cut(html, `<ul class="cart">`); ok {
		list, _, _ := strings.Cut(rest, "</ul>")
		for _, li := range strings.Split(list, "<li>")[1:] {
			item, _, _ := strings.Cut(li, "</li>")
			p.Cart = append(p.Cart, item)
		}
	}
	return p
}

func pathRoutingFindings(rows []Row, users int) []string {
	var out, agreed, together []string
	shared := true // every row that kept users together had app stickiness on /api
	for _, r := range rows {
		label := fmt.Sprintf("%s sessions with %s stickiness on /api", r.Store, r.Sticky)
		if r.Sticky == lb.StickyNone {
			label = r.Store + " sessions with no stickiness on /api"
		}
		split := int(r.M(mSplitUsers))
		disagreed := r.M(mOutAPI)+r.M(mOutPage)+r.M(mItemsGone) > 0
		switch {
		case split == 0 && !disagreed:
			together = append(together, label)
			shared = shared && r.Sticky == lb.StickyApp
		case !disagreed:
			agreed = append(agreed, fmt.Sprintf("%s (%s split)", label, ofUsersNoVerb(split, users)))
		default:
			out = append(out, fmt.Sprintf("On %s, %s had their /api and page requests of a round answered by different instances, and the routes disagreed: "+
				"%s answered logged out on /api and %s on the page, and the last pages lacked %s of the %s the API acknowledged.",
				label, ofUsersNoVerb(split, users), requests(int(r.M(mOutAPI))), requests(int(r.M(mOutPage))),
				itemsCount(int(r.M(mItemsGone))), itemsCount(int(r.M(mItemsSent)))))
		}
	}
	if len(together) > 0 {
		s := fmt.Sprintf("Every user's /api and page requests reached the same instance, and agreed, on %s", listAnd(together))
		if shared {
			s += ": both groups follow the one AWSALBAPP-0 cookie, which names an instance, not a group"
		}
		out = append(out, s+".")
	}
	if len(agreed) > 0 {
		out = append(out, fmt.Sprintf("The routes reached different instances but agreed about the session (nobody seen logged out, no item missing) on %s.", listAnd(agreed)))
	}
	return out
}
