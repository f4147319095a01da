package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"stickylab/internal/jsonhttp"
)

// restartTimeout bounds one restart requested through the admin API; the
// store switch restarts every instance, each within this bound.
const restartTimeout = 30 * time.Second

// InstanceRoutes returns the hook (lb.Config.AdminRoutes) that adds the
// fleet's routes to the balancer's admin API:
//
//	GET  /api/instances                {"store": "memory", "kill": "SIGKILL", "instances": [Instance...]}
//	POST /api/instances/{name}/kill    SIGKILL (TerminateProcess on Windows): 200 and the instance; 404 unknown name; 409 not running
//	POST /api/instances/{name}/restart start again, a new process, on the same port: 200 and the instance
//	PUT  /api/store                    {"store": "redis"} (or memory, cookie): restart every instance with that store;
//	                                   {"store": "redis", "migrate": true}: switch every memory instance in place, nobody logged out
//
// "kill" names how the kill route kills on this platform (killCall), for
// the dashboard's button to say. Errors are JSON {"error": "..."} with a message for people, never
// internals. Like the rest of the admin API it has no authentication: it
// can kill processes, so it listens on loopback unless told otherwise.
func InstanceRoutes(f *Fleet) func(mux *http.ServeMux) {
	h := instanceAPI{fleet: f, metrics: &http.Client{Timeout: time.Second}}
	return func(mux *http.ServeMux) {
		mux.HandleFunc("GET /api/instances", h.list)
		mux.HandleFunc("POST /api/instances/{name}/kill", h.kill)
		mux.HandleFunc("POST /api/instances/{name}/restart", h.restart)
		mux.HandleFunc("PUT /api/store", h.setStore)
	}
}

type instanceAPI struct {
	fleet   *Fleet
	metrics *http.Client // reads the instances' /metrics
}

// instanceView is an instance as GET /api/instances lists it: with what
// its session cache did since it started, when it has one (-redis-cache on
// a Redis that tracks), for the dashboard's hit ratio per instance.
type instanceView struct {
	Instance
	Cache *cacheView `json:"cache,omitempty"`
}

type cacheView struct {
	Hits     float64 `json:"hits"`
	Misses   float64 `json:"misses"`
	Off      float64 `json:"off"`       // loads while the cache could not serve
	HitRatio float64 `json:"hit_ratio"` // hits over all loads
}

func (h instanceAPI) list(w http.ResponseWriter, r *http.Request) {
	instances := h.fleet.Instances()
	views := make([]instanceView, len(instances))
	var wg sync.WaitGroup
	for i, in := range instances {
		views[i].Instance = in
		if !in.Alive() {
			continue
		}
		wg.Go(func() {
			s, err := scrapeStoreStats(r.Context(), h.metrics, in.URL)
			if err == nil && s.HitRatio() >= 0 {
				views[i].Cache = &cacheView{Hits: s.Hits, Misses: s.Misses, Off: s.Off, HitRatio: s.HitRatio()}
			}
		})
	}
	wg.Wait()
	jsonhttp.Write(w, http.StatusOK, map[string]any{"store": h.fleet.Store(), "kill": killCall, "instances": views})
}

func (h instanceAPI) kill(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	in, err := h.fleet.Kill(name)
	switch {
	case errors.Is(err, ErrUnknownInstance):
		h.unknown(w, name)
	case errors.Is(err, ErrNotRunning):
		jsonhttp.Error(w, http.StatusConflict, fmt.Sprintf("%s is not running (%s); start it with POST /api/instances/%s/restart", name, in.State, name))
	case err != nil:
		jsonhttp.Error(w, http.StatusInternalServerError, fmt.Sprintf("could not kill %s", name))
	default:
		jsonhttp.Write(w, http.StatusOK, in)
	}
}

func (h instanceAPI) restart(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	// The restart outlives a client that hangs up: a half-started instance
	// would help no one.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), restartTimeout)
	defer cancel()
	in, err := h.fleet.Restart(ctx, name)
	switch {
	case errors.Is(err, ErrUnknownInstance):
		h.unknown(w, name)
	case errors.Is(err, ErrFleetStopped):
		jsonhttp.Error(w, http.StatusServiceUnavailable, "the demo is stopping")
	case err != nil:
		jsonhttp.Error(w, http.StatusInternalServerError, fmt.Sprintf("%s did not start; the demo's terminal says why", name))
	default:
		jsonhttp.Write(w, http.StatusOK, in)
	}
}

func (h instanceAPI) setStore(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Store   string `json:"store"`
		Migrate bool   `json:"migrate"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		jsonhttp.Error(w, http.StatusBadRequest, `body must be JSON {"store": "memory"}, {"store": "redis"} or {"store": "cookie"}`)
		return
	}
	if !knownStore(body.Store) {
		jsonhttp.Error(w, http.StatusBadRequest, fmt.Sprintf("store %q: must be memory, redis or cookie", body.Store))
		return
	}
	if body.Migrate && body.Store != "redis" {
		jsonhttp.Error(w, http.StatusBadRequest, `migrate moves sessions from memory to redis: use {"store": "redis", "migrate": true}`)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), restartTimeout*time.Duration(len(h.fleet.list)))
	defer cancel()
	switchStore := h.fleet.SetStore
	if body.Migrate {
		switchStore = func(ctx context.Context, _ string) error { return h.fleet.MigrateToRedis(ctx) }
	}
	if err := switchStore(ctx, body.Store); err != nil {
		switch {
		case errors.Is(err, ErrFleetStopped):
			jsonhttp.Error(w, http.StatusServiceUnavailable, "the demo is stopping")
		case errors.Is(err, ErrNotMemory):
			jsonhttp.Error(w, http.StatusConflict, fmt.Sprintf(`the instances run %s: only memory migrates to redis; switch with {"store": "redis"}`, h.fleet.Store()))
		default:
			jsonhttp.Error(w, http.StatusInternalServerError, fmt.Sprintf("switching to %s failed; the demo's terminal says why", body.Store))
		}
		return
	}
	h.list(w, r)
}

func (h instanceAPI) unknown(w http.ResponseWriter, name string) {
	jsonhttp.Error(w, http.StatusNotFound, fmt.Sprintf("no instance named %q (instances: %s)", name, strings.Join(h.fleet.Names(), ", ")))
}
