package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
)

// Scenario is one lesson of the experiment: a table of rows (stickiness ×
// store, and what else the lesson varies), each row run in a fresh world of
// real processes, and findings derived from the numbers.
type Scenario struct {
	Name  string
	About string // one line: what the scenario shows
	// Run runs the scenario's rows that cfg.Stickies and cfg.Stores select.
	Run func(ctx context.Context, cfg ExperimentConfig) (Outcome, error)
}

// Outcome is what a scenario measured: a table for people (WriteTable) and
// JSON for machines (it is marshalled as it is).
type Outcome interface {
	WriteTable(w io.Writer) error
}

// Scenarios returns every scenario, in the order the default run runs them.
// A new scenario is a file experiment_NAME.go with a function returning its
// Scenario, and one line here.
func Scenarios() []Scenario {
	return []Scenario{
		crashScenario(),
		scaleOutScenario(),
		rollingDeployScenario(),
		concurrentScenario(),
		migrateScenario(),
		statelessScenario(),
		localityScenario(),
		storeFailoverScenario(),
		pathRoutingScenario(),
	}
}

// SelectScenarios returns the scenarios a comma-separated list names, in
// the list's order, each once; "all" (or an empty list) is every scenario.
// A name that is not offered is an error listing the ones that are.
func SelectScenarios(list string) ([]Scenario, error) {
	all := Scenarios()
	names := make([]string, len(all))
	for i, s := range all {
		names[i] = s.Name
	}
	if list == "" || list == "all" {
		return all, nil
	}
	var out []Scenario
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		i := slices.Index(names, name)
		switch {
		case name == "all":
			return nil, fmt.Errorf("all cannot be combined with other names; available: %s", strings.Join(names, ", "))
		case i >= 0:
			if !slices.ContainsFunc(out, func(s Scenario) bool { return s.Name == name }) {
				out = append(out, all[i])
			}
		default:
			return nil, fmt.Errorf("unknown scenario %q; available: %s", name, strings.Join(names, ", "))
		}
	}
	return out, nil
}

// Report is the outcome of every scenario run, in order.
type Report struct {
	Scenarios []ScenarioOutcome `json:"scenarios"`
	Elapsed   Duration          `json:"elapsed"`
}

// ScenarioOutcome is one scenario's name and outcome.
type ScenarioOutcome struct {
	Name    string  `json:"scenario"`
	About   string  `json:"about"`
	Outcome Outcome `json:"outcome"`
}

// RunScenarios runs the scenarios one after the other (each runs its own
// rows cfg.Parallel at a time).
func RunScenarios(ctx context.Context, cfg ExperimentConfig, scenarios []Scenario) (*Report, error) {
	cfg = cfg.withDefaults()
	start := time.Now()
	rep := &Report{}
	for _, s := range scenarios {
		out, err := s.Run(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("experiment: %s: %w", s.Name, err)
		}
		rep.Scenarios = append(rep.Scenarios, ScenarioOutcome{Name: s.Name, About: s.About, Outcome: out})
	}
	rep.Elapsed = Duration(time.Since(start).Round(time.Millisecond))
	return rep, nil
}

// WriteTable prints each scenario under a heading: its table and findings.
func (r *Report) WriteTable(w io.Writer) error {
	for i, s := range r.Scenarios {
		if i > 0 {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		if _, err := fmt.Fprintf(w, "== %s: %s\n\n", s.Name, s.About); err != nil {
			return err
		}
		if err := s.Outcome.WriteTable(w); err != nil {
			return err
		}
	}
	if len(r.Scenarios) > 1 {
		_, err := fmt.Fprintf(w, "\n%d scenarios in %v\n", len(r.Scenarios), time.Duration(r.Elapsed).Round(100*time.Millisecond))
		return err
	}
	return nil
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// selected reports whether cfg's -sticky and -store choices keep a row.
func (cfg ExperimentConfig) selected(sticky, store string) bool {
	return (len(cfg.Stickies) == 0 || slices.Contains(cfg.Stickies, sticky)) &&
		(len(cfg.Stores) == 0 || slices.Contains(cfg.Stores, store))
}

// runAll runs run(i) for i in [0, n), cfg.Parallel at a time, and joins
// the errors; it stops starting new ones once ctx is done.
func runAll(ctx context.Context, parallel, n int, run func(i int) error) error {
	errs := make([]error, n)
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := ctx.Err(); err != nil {
				errs[i] = err
				return
			}
			errs[i] = run(i)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// ScenarioNames lists the scenarios offered, comma-separated.
func ScenarioNames() string {
	var names []string
	for _, s := range Scenarios() {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}
