package lab

import (
	"errors"
	"fmt"
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
// thread does no harm. On Windows the spawner also owns the job object that
// every child joins before it runs (job_windows.go).
type spawner struct {
	reqs chan spawnRequest
	done chan struct{}
	job  *job // made by the first launch, owned by loop's goroutine
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
			r.err <- s.launch(r.cmd)
		case <-s.done:
			if s.job != nil {
				s.job.close()
			}
			return
		}
	}
}

// launch starts cmd and puts it in the job, made at the first launch; a
// child the job refuses is killed and waited for. It runs on the spawner's
// goroutine alone, which owns job.
func (s *spawner) launch(cmd *exec.Cmd) error {
	if s.job == nil {
		j, err := newJob()
		if err != nil {
			return fmt.Errorf("spawn: %w", err)
		}
		s.job = j
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	if err := s.job.adopt(cmd.Process); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return err
	}
	return nil
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

// close ends the spawner's goroutine and gives its thread back, and closes
// the job on Windows (any child still in it is terminated). Call it once,
// after every child has been waited for.
func (s *spawner) close() { close(s.done) }
