package lab

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// start starts in's process and waits until it is ready; in.ops is held.
func (f *Fleet) start(ctx context.Context, in *instance) error {
	store := f.Store()
	args := []string{"app", "-listen", "127.0.0.1:" + strconv.Itoa(in.port), "-name", in.name, "-store", store}
	if f.cfg.RedisURL != "" {
		// Also for memory: an in-place switch (MigrateToRedis) needs it.
		args = append(args, "-redis-url", f.cfg.RedisURL)
	}
	if f.cfg.CookieName != "" {
		args = append(args, "-cookie-name", f.cfg.CookieName)
	}
	args = append(args, f.cfg.Args...)
	cmd := exec.Command(f.cfg.Binary, args...)
	cmd.Env = f.env()
	cmd.SysProcAttr = childAttr()
	out := &childOutput{log: f.cfg.Logger.With("instance", in.name)}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = time.Second // the output pipe, should a grandchild hold it
	if err := f.spawn.start(cmd); err != nil {
		return fmt.Errorf("start %s: %w", in.name, err)
	}
	done := make(chan struct{})
	in.mu.Lock()
	in.cmd, in.done, in.store, in.exit = cmd, done, store, ""
	in.state, in.since = StateStarting, time.Now()
	in.mu.Unlock()
	go f.wait(in, cmd, done)
	if err := f.awaitReady(ctx, in, done); err != nil {
		if d, _ := in.end(true, true); d != nil {
			<-d
		}
		return fmt.Errorf("start %s: %w (last output: %s)", in.name, err, out.lastLines())
	}
	f.changed(in.setState(StateRunning))
	return nil
}

// wait reaps cmd's process and records how it ended. It is the one owner of
// cmd.Wait; its goroutine ends with the process, which Stop guarantees.
func (f *Fleet) wait(in *instance, cmd *exec.Cmd, done chan struct{}) {
	cmd.Wait() // how it ended is in cmd.ProcessState
	s := in.ended(cmd)
	close(done)
	f.changed(s)
}

func (f *Fleet) changed(s Instance) {
	if f.cfg.OnChange != nil {
		f.cfg.OnChange(s)
	}
}

// stop ends in's process if it has one: SIGTERM (Ctrl-Break on Windows),
// then SIGKILL (TerminateProcess) after StopTimeout, or at once when the
// first could not be sent; in.ops is held.
func (f *Fleet) stop(in *instance) error {
	done, err := in.end(false, true)
	if done == nil {
		return err
	}
	if err == nil {
		t := time.NewTimer(f.cfg.StopTimeout)
		defer t.Stop()
		select {
		case <-done:
			return nil
		case <-t.C:
		}
	}
	if _, err := in.end(true, true); err != nil {
		return fmt.Errorf("stop %s: %w", in.name, err)
	}
	<-done
	return nil
}

// awaitReady polls in's /healthz until it answers 200, the process ends, ctx
// is done or ReadyTimeout passes.
func (f *Fleet) awaitReady(ctx context.Context, in *instance, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, f.cfg.ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.url+"/healthz", nil)
		if err != nil {
			return err
		}
		if resp, err := f.health.Do(req); err == nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("process ended before it was ready (%s)", in.snapshot().Exit)
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w", context.Cause(ctx))
		case <-tick.C:
		}
	}
}

// ParentPIDEnv names the variable through which the lab gives an instance
// its PID on Unix systems without Pdeathsig (macOS, the BSDs): "stickylab app"
// exits once its parent is no longer that process, rather than live on as an
// orphan of a lab killed with SIGKILL. It is not a flag.
const ParentPIDEnv = "STICKYLAB_PARENT_PID"

// env is the instances' environment: the lab's without STICKYLAB_*, then
// the session key, the lab's PID where watchParent, and cfg.Env.
func (f *Fleet) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "STICKYLAB_") {
			env = append(env, kv)
		}
	}
	if f.cfg.SessionKey != "" {
		env = append(env, "STICKYLAB_SESSION_KEY="+f.cfg.SessionKey)
	}
	env = append(env, "STICKYLAB_ADMIN_TOKEN="+f.adminToken)
	if watchParent {
		env = append(env, ParentPIDEnv+"="+strconv.Itoa(os.Getpid()))
	}
	return append(env, f.cfg.Env...)
}
