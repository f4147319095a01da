package lab

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// Table is the outcome of a scenario other than crash: one row per world
// run, each with the users logged out, the requests failed and the
// scenario's own measures, then the findings, derived from the numbers.
type Table struct {
	Setup    string   `json:"setup"`   // the run's parameters, one line
	Variant  string   `json:"variant"` // what the variant column varies ("" when nothing)
	Columns  []string `json:"columns"` // the scenario's measures, in order
	Rows     []Row    `json:"rows"`
	Legend   []string `json:"legend"` // one line per column that needs saying
	Warnings []string `json:"warnings,omitempty"`
	Findings []string `json:"findings"`
	Method   string   `json:"method"`
	Elapsed  Duration `json:"elapsed"`
}

// Row is one world of a scenario.
type Row struct {
	Sticky    string             `json:"sticky"`
	Store     string             `json:"store"`
	Variant   string             `json:"variant,omitempty"`
	LoggedOut int                `json:"logged_out"` // users seen logged out at least once
	Failed    int                `json:"failed"`     // requests without a 2xx answer
	FailedBy  map[string]int     `json:"failed_by,omitempty"`
	Requests  int                `json:"requests"` // requests sent
	Measures  map[string]float64 `json:"measures"` // by column name
	Elapsed   Duration           `json:"elapsed"`
}

// Label names the row in progress lines and warnings.
func (r Row) Label() string {
	l := r.Sticky + "/" + r.Store
	if r.Variant != "" {
		l += "/" + r.Variant
	}
	return l
}

// M returns a measure, 0 when the row has none of that name.
func (r Row) M(name string) float64 { return r.Measures[name] }

// count records users' tallies in the row.
func (r *Row) count(tallies ...[]tally) {
	for _, ts := range tallies {
		for _, t := range ts {
			if t.loggedOut {
				r.LoggedOut++
			}
			r.Failed += t.failed
			for why, n := range t.failedBy {
				if r.FailedBy == nil {
					r.FailedBy = map[string]int{}
				}
				r.FailedBy[why] += n
			}
			r.Requests += t.requests
		}
	}
}

// set sets a measure.
func (r *Row) set(name string, v float64) {
	if r.Measures == nil {
		r.Measures = map[string]float64{}
	}
	r.Measures[name] = v
}

// runRows runs each row in its own world, cfg.Parallel at a time, and
// returns them in order; cfg.Progress hears of each as it ends.
func runRows(ctx context.Context, cfg ExperimentConfig, scenario string, rows []Row, run func(context.Context, *Row) error) ([]Row, error) {
	err := runAll(ctx, cfg.Parallel, len(rows), func(i int) error {
		start := time.Now()
		if err := run(ctx, &rows[i]); err != nil {
			return fmt.Errorf("%s: %w", rows[i].Label(), err)
		}
		rows[i].Elapsed = Duration(time.Since(start).Round(time.Millisecond))
		if cfg.Progress != nil {
			cfg.Progress(scenario, rows[i].Label(), time.Since(start))
		}
		return nil
	})
	return rows, err
}

// WriteTable prints the setup, the table, the legend, the warnings and the
// findings.
func (t *Table) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s; %d %s in %v\n\n", t.Setup, len(t.Rows), plural(len(t.Rows), "row", "rows"), time.Duration(t.Elapsed).Round(100*time.Millisecond))
	head := []string{"STICKY", "STORE"}
	if t.Variant != "" {
		head = append(head, strings.ToUpper(t.Variant))
	}
	head = append(head, "LOGGED OUT", "FAILED")
	for _, c := range t.Columns {
		head = append(head, strings.ToUpper(c))
	}
	lines := [][]string{head}
	for _, r := range t.Rows {
		line := []string{r.Sticky, r.Store}
		if t.Variant != "" {
			line = append(line, r.Variant)
		}
		line = append(line, fmt.Sprint(r.LoggedOut), fmt.Sprint(r.Failed))
		for _, c := range t.Columns {
			line = append(line, number(r.M(c)))
		}
		lines = append(lines, line)
	}
	writeColumns(&b, lines)
	if len(t.Rows) == 0 {
		b.WriteString("(no row: -sticky and -store left none of this scenario's rows)\n")
	}
	b.WriteString("\n")
	b.WriteString("logged out: users seen logged out at least once · failed: requests without a 2xx answer")
	for _, l := range t.Legend {
		b.WriteString(" · " + l)
	}
	b.WriteString("\n\n")
	for _, warn := range t.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", warn)
	}
	for _, r := range t.Rows {
		if r.Failed > 0 {
			fmt.Fprintf(&b, "failed in %s: %s\n", r.Label(), failedWhy(r.FailedBy))
		}
	}
	for _, f := range t.Findings {
		fmt.Fprintf(&b, "%s\n", f)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeColumns writes lines as left-aligned columns two spaces apart.
func writeColumns(b *strings.Builder, lines [][]string) {
	var widths []int
	for _, l := range lines {
		for i, cell := range l {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	for _, l := range lines {
		for i, cell := range l {
			if i == len(l)-1 {
				b.WriteString(cell)
				break
			}
			fmt.Fprintf(b, "%-*s  ", widths[i], cell)
		}
		b.WriteString("\n")
	}
}

// number shows a measure: an integer as such, anything else to one
// decimal.
func number(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprint(int64(v))
	}
	return fmt.Sprintf("%.1f", v)
}

// tableScenario is a scenario whose outcome is a Table: its candidate
// rows (those cfg's -sticky and -store keep are run), how to run one, and
// the table around the rows once run.
type tableScenario struct {
	name, about string
	rows        []Row
	// keep, when set, decides which rows cfg keeps instead of
	// cfg.selected(row.Sticky, row.Store).
	keep func(cfg ExperimentConfig, r Row) bool
	// setup is the row's world; nil: its stickiness and store.
	setup func(cfg ExperimentConfig, r Row) rigConfig
	// run measures one row in its world, started for it and closed after.
	run   func(ctx context.Context, cfg ExperimentConfig, w *rig, r *Row) error
	table func(cfg ExperimentConfig, rows []Row) *Table
}

func (s tableScenario) scenario() Scenario {
	return Scenario{Name: s.name, About: s.about, Run: func(ctx context.Context, cfg ExperimentConfig) (Outcome, error) {
		start := time.Now()
		var rows []Row
		for _, r := range s.rows {
			if (s.keep == nil && cfg.selected(r.Sticky, r.Store)) || (s.keep != nil && s.keep(cfg, r)) {
				rows = append(rows, r)
			}
		}
		rows, err := runRows(ctx, cfg, s.name, rows, func(ctx context.Context, r *Row) error {
			rc := rigConfig{Sticky: r.Sticky, Store: r.Store}
			if s.setup != nil {
				rc = s.setup(cfg, *r)
			}
			w, err := startRig(ctx, cfg, rc, r.Label())
			if err != nil {
				return err
			}
			defer w.Close()
			if err := s.run(ctx, cfg, w, r); err != nil {
				return err
			}
			return ctx.Err()
		})
		if err != nil {
			return nil, err
		}
		t := s.table(cfg, rows)
		t.Rows = rows
		if t.Rows == nil { // JSON: [] rather than null
			t.Rows = []Row{}
		}
		if t.Findings == nil {
			t.Findings = []string{}
		}
		t.Elapsed = Duration(time.Since(start).Round(time.Millisecond))
		return t, nil
	}}
}

// settle makes the rig's crowd of cfg.Users, logs every user in and has
// each make cfg.Requests answered requests, and returns the users and what
// they saw so far.
func (r *rig) settle(ctx context.Context, cfg ExperimentConfig) ([]*user, []tally, error) {
	users, err := r.crowd(1, cfg.Users)
	if err != nil {
		return nil, nil, err
	}
	login := loginAll(ctx, users, cfg.warm())
	return users, merge(login, phase(ctx, users, cfg.Requests, cfg.warm())), nil
}
