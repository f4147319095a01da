package lb

import (
	"net/http"
	"testing"
	"time"
)

// testPool returns a pool of targets a, b and c in the given states.
func testPool(states ...state) *pool {
	names := []string{"a", "b", "c"}
	var ts []*target
	for i, st := range states {
		t := &target{index: i, name: names[i], idle: make(chan struct{}, 1), wake: make(chan struct{}, 1)}
		t.state.Store(int32(st))
		ts = append(ts, t)
	}
	return newPool(ts, nil, 1, 0)
}

// TestDecide covers the stickiness decisions without a network: which
// requests stay on their target, which are re-stuck, which are new.
func TestDecide(t *testing.T) {
	codec, err := newCookieCodec([][]byte{make([]byte, 16)})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	seal := func(purpose byte, target string, deadline time.Time) string {
		return string(codec.appendSeal(nil, purpose, stickyValue{deadline: deadline.UnixMilli(), client: 42, target: target}))
	}
	later := now.Add(time.Hour)
	duration := &Stickiness{Mode: StickyDuration, Duration: time.Hour}
	app := &Stickiness{Mode: StickyApp, Duration: time.Hour, AppCookie: "sid"}
	none := &Stickiness{Mode: StickyNone, Duration: time.Hour}
	healthy3 := []state{stateHealthy, stateHealthy, stateHealthy}

	cases := []struct {
		name       string
		stick      *Stickiness
		states     []state
		cookie     string
		want       string
		wantTarget string
		wantClient uint64
	}{
		{"none mode ignores cookies", none, healthy3, "AWSALB=" + seal(purposeDuration, "b", later), DecisionNone, "", 0},
		{"duration: no cookie", duration, healthy3, "", DecisionNew, "", 0},
		{"duration: valid cookie", duration, healthy3, "AWSALB=" + seal(purposeDuration, "b", later), DecisionStuck, "b", 42},
		{"duration: CORS copy only", duration, healthy3, "AWSALBCORS=" + seal(purposeDuration, "c", later), DecisionStuck, "c", 42},
		{"duration: AWSALB wins over CORS", duration, healthy3, "AWSALBCORS=" + seal(purposeDuration, "c", later) + "; AWSALB=" + seal(purposeDuration, "a", later), DecisionStuck, "a", 42},
		{"duration: quoted value", duration, healthy3, `AWSALB="` + seal(purposeDuration, "b", later) + `"`, DecisionStuck, "b", 42},
		{"duration: expired", duration, healthy3, "AWSALB=" + seal(purposeDuration, "b", now.Add(-time.Second)), DecisionNew, "", 42},
		{"duration: a millisecond before the deadline still binds", duration, healthy3, "AWSALB=" + seal(purposeDuration, "b", now.Add(time.Millisecond)), DecisionStuck, "b", 42},
		{"duration: at the deadline no longer binds", duration, healthy3, "AWSALB=" + seal(purposeDuration, "b", now), DecisionNew, "", 42},
		{"duration: forged", duration, healthy3, "AWSALB=b", DecisionNew, "", 0},
		{"duration: app value refused", duration, healthy3, "AWSALB=" + seal(purposeApp, "b", later), DecisionNew, "", 0},
		{"duration: unhealthy target", duration, []state{stateHealthy, stateUnhealthy, stateHealthy}, "AWSALB=" + seal(purposeDuration, "b", later), DecisionRestuck, "", 42},
		{"duration: draining target", duration, []state{stateHealthy, stateDraining, stateHealthy}, "AWSALB=" + seal(purposeDuration, "b", later), DecisionRestuck, "", 42},
		{"duration: unused target", duration, []state{stateHealthy, stateUnused, stateHealthy}, "AWSALB=" + seal(purposeDuration, "b", later), DecisionRestuck, "", 42},
		{"duration: initial target", duration, []state{stateHealthy, stateInitial, stateHealthy}, "AWSALB=" + seal(purposeDuration, "b", later), DecisionRestuck, "", 42},
		{"duration: unknown target", duration, healthy3, "AWSALB=" + seal(purposeDuration, "zz", later), DecisionRestuck, "", 42},
		{"duration: fail-open keeps unhealthy target", duration, []state{stateUnhealthy, stateUnhealthy, stateUnhealthy}, "AWSALB=" + seal(purposeDuration, "b", later), DecisionStuck, "b", 42},
		{"duration: fail-open excludes draining", duration, []state{stateUnhealthy, stateDraining, stateUnhealthy}, "AWSALB=" + seal(purposeDuration, "b", later), DecisionRestuck, "", 42},
		{"app: both cookies", app, healthy3, "sid=1; AWSALBAPP-0=" + seal(purposeApp, "c", later), DecisionStuck, "c", 42},
		{"app: AWSALBAPP-0 without app cookie", app, healthy3, "AWSALBAPP-0=" + seal(purposeApp, "c", later), DecisionNew, "", 0},
		{"app: app cookie alone", app, healthy3, "sid=1", DecisionNew, "", 0},
		{"app: similar name is not the app cookie", app, healthy3, "sidx=1; AWSALBAPP-0=" + seal(purposeApp, "c", later), DecisionNew, "", 0},
		{"app: duration value refused", app, healthy3, "sid=1; AWSALBAPP-0=" + seal(purposeDuration, "c", later), DecisionNew, "", 0},
		{"app: unhealthy target re-sticks", app, []state{stateHealthy, stateHealthy, stateUnhealthy}, "sid=1; AWSALBAPP-0=" + seal(purposeApp, "c", later), DecisionRestuck, "", 42},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.cookie != "" {
				h.Set("Cookie", tc.cookie)
			}
			p := testPool(tc.states...)
			got := decide(tc.stick, h, p.load(), codec, now)
			if got.decision != tc.want {
				t.Errorf("decision = %q, want %q", got.decision, tc.want)
			}
			gotTarget := ""
			if got.target != nil {
				gotTarget = got.target.name
			}
			if gotTarget != tc.wantTarget {
				t.Errorf("target = %q, want %q", gotTarget, tc.wantTarget)
			}
			if got.client != tc.wantClient {
				t.Errorf("client = %d, want %d", got.client, tc.wantClient)
			}
		})
	}
}

func TestCookieValue(t *testing.T) {
	h := http.Header{"Cookie": {"a=1; AWSALBCORS=2", "AWSALB=3;x=\"4\"", "empty="}}
	cases := []struct {
		name, want string
		found      bool
	}{
		{"a", "1", true}, {"AWSALB", "3", true}, {"AWSALBCORS", "2", true}, {"x", "4", true},
		{"empty", "", true}, {"AWSAL", "", false}, {"missing", "", false},
	}
	for _, tc := range cases {
		got, found := cookieValue(h, tc.name)
		if got != tc.want || found != tc.found {
			t.Errorf("cookieValue(%q) = %q, %v; want %q, %v", tc.name, got, found, tc.want, tc.found)
		}
	}
}

func TestSnapshotCandidates(t *testing.T) {
	cases := []struct {
		name     string
		states   []state
		want     string
		failOpen bool
	}{
		{"healthy only", []state{stateHealthy, stateInitial, stateUnhealthy}, "a", false},
		{"new target waits for a check", []state{stateHealthy, stateHealthy, stateInitial}, "ab", false},
		{"fail-open: all unhealthy", []state{stateUnhealthy, stateUnhealthy, stateUnhealthy}, "abc", true},
		{"fail-open: all initial", []state{stateInitial, stateInitial, stateInitial}, "abc", true},
		{"fail-open skips draining and unused", []state{stateUnhealthy, stateDraining, stateUnused}, "a", true},
		{"nothing registered", []state{stateDraining, stateUnused, stateUnused}, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := testPool(tc.states...).load()
			got := ""
			for _, t := range s.candidates {
				got += t.name
			}
			if got != tc.want || s.failOpen != tc.failOpen {
				t.Errorf("candidates %q, fail-open %v; want %q, %v", got, s.failOpen, tc.want, tc.failOpen)
			}
		})
	}
}
