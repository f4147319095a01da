package lab

import (
	"errors"
	"os/exec"
	"runtime"
)

// spawner starts child processes from a single OS thread that outlives them.
//
// On Linux, children are started with Pdeathsig=SIGKILL so that they die
// with the lab even when the lab itself is killed with SIGKILL. But the
// kernel sends that signal when the *thread* that forked the child exits, not
// the process (prctl(2), PR_SET_PDEATHSIG; golang/go#27505), and the Go
// runtime ends a thread whenever a goroutine locked to it returns. Forking
// from one locked goroutine that stays alive until the fleet stops makes "the
// parent died" mean what it says. Elsewhere there is no Pdeathsig, and the
// thread does no harm.
type spawner struct {
	reqs chan spawnRequest
	done chan struct{}
}

type spawnRequest struct {
	cmd *exec.Cmd
	err chan<- error
}

var errSpawnerClosed = errors.New("spawn: fleet stopped")

func newSpawner() *spawner {
	s := &spawner{reqs: make(chan spawnRequest), done: make(chan struct{})}
	go s.loop()
	return s
}

func (s *spawner) loop() {
	runtime.LockOSThread()
	// Unlocked, not left to exit with the goroutine, when the fleet stops
	// (every child has been waited for by then): this thread may have forked
	// other processes with Pdeathsig before the spawner took it, such as a
	// test's redis-server, and its exit would kill them.
	defer runtime.UnlockOSThread()
	for {
		select {
		case r := <-s.reqs:
			r.err <- r.cmd.Start()
		case <-s.done:
			return
		}
	}
}

// start runs cmd.Start on the spawner's thread.
func (s *spawner) start(cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	select {
	case s.reqs <- spawnRequest{cmd: cmd, err: errc}:
		return <-errc
	case <-s.done:
		return errSpawnerClosed
	}
}

// close ends the spawner's goroutine and gives its thread back. Call it
// once, after every child has been waited for.
func (s *spawner) close() { close(s.done) }
