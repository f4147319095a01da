//go:build !windows

package lab

import "os"

// job is nothing outside Windows: Pdeathsig (Linux) or watchParent (macOS,
// the BSDs) ends an instance that outlives the lab (process_*.go).
type job struct{}

func newJob() (*job, error) { return &job{}, nil }

// adopt has nothing to do: p already runs.
func (*job) adopt(*os.Process) error { return nil }

func (*job) close() {}
