package lab

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestSelectScenarios(t *testing.T) {
	names := func(ss []Scenario) string {
		var out []string
		for _, s := range ss {
			out = append(out, s.Name)
		}
		return strings.Join(out, ",")
	}
	all, err := SelectScenarios("all")
	if err != nil {
		t.Fatal(err)
	}
	every := names(Scenarios())
	if got := names(all); got != every {
		t.Errorf("all: got %s, want every scenario, %s", got, every)
	}
	if !strings.HasPrefix(every, "crash,scale-out,rolling-deploy,concurrent,migrate,stateless") {
		t.Errorf("scenarios: got %s, want crash first and the lessons of issue 16 in order", every)
	}
	cases := []struct {
		list, want, wantErr string
	}{
		{"", every, ""},
		{"migrate, crash,migrate", "migrate,crash", ""},
		{"path-routing", "path-routing", ""},
		{"crash,nope", "", `unknown scenario "nope"; available: ` + ScenarioNames()},
		{"all,crash", "", "all cannot be combined"},
	}
	for _, c := range cases {
		got, err := SelectScenarios(c.list)
		switch {
		case c.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%q: got error %v, want one containing %q", c.list, err, c.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "available: crash") {
				t.Errorf("%q: error %q does not list the available scenarios", c.list, err)
			}
		case err != nil:
			t.Errorf("%q: %v", c.list, err)
		case names(got) != c.want:
			t.Errorf("%q: got %s, want %s", c.list, names(got), c.want)
		}
	}
}

func TestTableOutput(t *testing.T) {
	tab := &Table{
		Setup: "2 users", Variant: "switch", Columns: []string{"items lost", "share %"},
		Rows: []Row{
			{Sticky: "duration", Store: "memory→redis", Variant: "in-place", LoggedOut: 0, Failed: 1, Measures: map[string]float64{"items lost": 3, "share %": 12.5}},
			{Sticky: "none", Store: "cookie", Variant: "restart", LoggedOut: 2},
		},
		Legend: []string{"share: of the requests"}, Findings: []string{"A finding."},
	}
	var b bytes.Buffer
	if err := tab.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"2 users; 2 rows in 0s",
		"STICKY    STORE         SWITCH    LOGGED OUT  FAILED  ITEMS LOST  SHARE %\n",
		"duration  memory→redis  in-place  0           1       3           12.5\n",
		"none      cookie        restart   2           0       0           0\n",
		"· share: of the requests",
		"A finding.",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q; got:\n%s", want, b.String())
		}
	}
	rep := &Report{Scenarios: []ScenarioOutcome{{Name: "x", About: "about x", Outcome: tab}}}
	b.Reset()
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Scenarios []struct {
			Scenario string
			Outcome  struct {
				Rows []struct {
					Variant  string
					Measures map[string]float64
				}
			}
		}
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("decode: %v\n%s", err, b.String())
	}
	if len(got.Scenarios) != 1 || got.Scenarios[0].Scenario != "x" || got.Scenarios[0].Outcome.Rows[0].Measures["share %"] != 12.5 {
		t.Errorf("JSON: got %+v", got)
	}
}

// Every table scenario's findings with counts of one: no "1 users", "1
// items", "1 requests", "1 times" or "1 newcomers".
func TestFindingsSingular(t *testing.T) {
	one := func(sticky, store, variant string, m map[string]float64) Row {
		return Row{Sticky: sticky, Store: store, Variant: variant, LoggedOut: 1, Failed: 1, Requests: 1, Measures: m}
	}
	var all []string
	all = append(all, statelessFindings([]Row{
		one("duration", "memory", "", map[string]float64{mCartKept: 1, mRefusedAt: 2, mCopiesValid: 1, mCookieBytes: 1}),
	}, 1)...)
	all = append(all, concurrentFindings([]Row{
		one("none", "redis", casOff, map[string]float64{mItemsAdded: 1, mItemsLost: 1, mUsersLost: 1}),
		one("none", "redis", casOn, map[string]float64{mItemsAdded: 1}),
	})...)
	all = append(all, migrateFindings([]Row{one("duration", "memory→redis", switchRestart, map[string]float64{mOutAtSwitch: 1, mOutAfterKill: 1})}, 1)...)
	all = append(all, rollingFindings([]Row{one("duration", "memory", "", map[string]float64{mLogouts: 1})}, 1, 2)...)
	all = append(all, pathRoutingFindings([]Row{
		one("none", "memory", "", map[string]float64{mSplitUsers: 1, mOutAPI: 1, mOutPage: 1, mItemsSent: 1, mItemsGone: 1}),
		one("duration", "redis", "", map[string]float64{mSplitUsers: 1, mItemsSent: 1}),
	}, 1)...)
	all = append(all, scaleOutFindings([]Row{one("duration", "redis", "", map[string]float64{mStayersNew: 1, mNewcomersNew: 1})}, 1, 1)...)
	text := strings.Join(all, "\n")
	for _, bad := range []string{"1 users", "1 items", "1 requests", "1 times", "1 newcomers", "1 of 1 users", " was;", " were;"} {
		if strings.Contains(text, bad) {
			t.Errorf("findings say %q:\n%s", bad, text)
		}
	}
	for _, want := range []string{"1 of 1 user", "1 item", "1 request failed", "once in all", "1 newcomer"} {
		if !strings.Contains(text, want) {
			t.Errorf("findings lack %q:\n%s", want, text)
		}
	}
}
