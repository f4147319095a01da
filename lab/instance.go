package lab

import (
	"errors"
	"os"
	"os/exec"
	"sync"
	"time"
)

// State is what an instance's process is doing.
type State string

// The states of an instance. An instance that ended stays in its end state
// until it is restarted: the lab never restarts anything by itself, so that
// the effect of a crash can be seen.
const (
	StateStarting State = "starting" // started, not yet answering /healthz
	StateRunning  State = "running"  // answering /healthz
	StateKilled   State = "killed"   // ended by SIGKILL: Fleet.Kill, or kill -9 from a terminal (Fleet.Kill alone on Windows)
	StateExited   State = "exited"   // ended on its own or by another signal
	StateStopped  State = "stopped"  // ended by Fleet.Stop or before a restart
)

// Instance is a snapshot of one app instance.
type Instance struct {
	Name  string    `json:"name"`
	PID   int       `json:"pid"` // of the current or last process
	Port  int       `json:"port"`
	URL   string    `json:"url"`
	State State     `json:"state"`
	Store string    `json:"store"`
	Exit  string    `json:"exit,omitempty"` // how the last process ended, e.g. "signal: killed"
	Since time.Time `json:"since"`          // when State last changed
}

// Alive reports whether the instance has a process that has not ended.
func (i Instance) Alive() bool { return i.State == StateStarting || i.State == StateRunning }

// Errors of the fleet's lifecycle operations, checked with errors.Is.
var (
	ErrUnknownInstance = errors.New("unknown instance")
	ErrNotRunning      = errors.New("instance not running")
	ErrFleetStopped    = errors.New("fleet stopped")
	ErrNotMemory       = errors.New("only the memory store migrates to redis")
)

// instance is one named app instance on a fixed port; its process comes and
// goes.
type instance struct {
	name string
	port int
	url  string

	// ops serializes the lifecycle operations (start, kill, stop) of this
	// instance, so that a kill and a restart from two admin requests cannot
	// interleave.
	ops sync.Mutex

	mu       sync.Mutex // protects the fields below
	cmd      *exec.Cmd
	state    State
	store    string
	exit     string
	since    time.Time
	done     chan struct{} // closed once the current process has been waited for
	stopping bool          // the current process is being ended by stop
	killing  bool          // the current process has been killed by the lab
}

func (in *instance) snapshot() Instance {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.snapshotLocked()
}

func (in *instance) snapshotLocked() Instance {
	s := Instance{Name: in.name, Port: in.port, URL: in.url, State: in.state, Store: in.store, Exit: in.exit, Since: in.since}
	if in.cmd != nil && in.cmd.Process != nil {
		s.PID = in.cmd.Process.Pid
	}
	return s
}

func (in *instance) setState(s State) Instance {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.state, in.since = s, time.Now()
	return in.snapshotLocked()
}

// ended records how cmd's process ended and returns the new snapshot.
func (in *instance) ended(cmd *exec.Cmd) Instance {
	in.mu.Lock()
	defer in.mu.Unlock()
	state := StateExited
	switch {
	case in.stopping:
		state = StateStopped
	case killed(cmd.ProcessState, in.killing):
		state = StateKilled
	}
	in.state, in.since, in.exit = state, time.Now(), cmd.ProcessState.String()
	in.stopping, in.killing = false, false
	return in.snapshotLocked()
}

// end kills the current process if it has not ended (SIGKILL,
// TerminateProcess on Windows), or asks it to shut down when !kill (SIGTERM,
// interrupt), and returns the channel closed when it has been waited for
// (nil when there is no process).
func (in *instance) end(kill, stopping bool) (<-chan struct{}, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.cmd == nil || in.done == nil || !(in.state == StateStarting || in.state == StateRunning) {
		return nil, nil
	}
	in.stopping = in.stopping || stopping
	var err error
	if kill {
		in.killing = true
		err = in.cmd.Process.Kill()
	} else {
		err = interrupt(in.cmd.Process)
	}
	// ErrProcessDone: the process ended and Wait returned, but the waiter
	// has not recorded it yet; done will close in a moment.
	if err != nil && !errors.Is(err, os.ErrProcessDone) {
		return in.done, err
	}
	return in.done, nil
}
