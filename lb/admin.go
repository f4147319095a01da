package lb

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"stickylab/internal/jsonhttp"
)

// AdminHandler returns the admin API:
//
//	GET  /                          the dashboard (dashboard.go); GET /?whoami names this browser's client label
//	GET  /api/targets               {"targets": [TargetStatus...]} (a Router's lists every group's: Router.AdminHandler)
//	POST /api/targets/{name}/drain  deregister: 202 and the target's status; 404 for an unknown name
//	POST /api/targets/{name}/register  register again after a drain
//	GET  /api/stickiness            {"mode": "duration", "duration": "24h", "app_cookie": ""}
//	PUT  /api/stickiness            the same JSON, fields left out keep their value; 400 for bad values
//	GET  /api/events                server-sent events: one per request and per target state change
//	GET  /metrics                   Prometheus metrics
//
// plus what Config.AdminRoutes adds. It has no authentication: serve it on
// loopback or a private network only. Errors are JSON {"error": "..."},
// unknown paths and methods included.
//
// Loopback does not keep out a web page in the user's own browser: any
// site can make it POST to 127.0.0.1. So every request that changes
// something (POST, PUT, DELETE) is refused with 403 when the browser says it
// comes from another origin (http.CrossOriginProtection: Sec-Fetch-Site, or
// Origin against Host). The dashboard's own buttons and curl pass. Nor
// does it keep out a page whose name was rebound to 127.0.0.1 (DNS
// rebinding), which the browser takes for same-origin: Serve puts the
// handler behind a check of the Host header, which must be localhost, a
// loopback address or one of Config.AdminHosts (421 otherwise); a host
// serving the handler itself should do the same.
func (b *Balancer) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", b.dashboard)
	mux.HandleFunc("GET /api/targets", b.getTargets)
	mux.HandleFunc("POST /api/targets/{name}/drain", targetAction(b.Drain, http.StatusAccepted))
	mux.HandleFunc("POST /api/targets/{name}/register", targetAction(b.Register, http.StatusOK))
	mux.HandleFunc("GET /api/stickiness", b.getStickiness)
	mux.HandleFunc("PUT /api/stickiness", b.putStickiness)
	mux.HandleFunc("GET /api/events", b.serveEvents)
	mux.Handle("GET /metrics", promhttp.HandlerFor(b.metrics.reg, promhttp.HandlerOpts{}))
	if b.cfg.AdminRoutes != nil {
		b.cfg.AdminRoutes(mux)
	}
	return crossOriginGuard(jsonNotFound(mux))
}

// crossOriginGuard refuses with 403 a change (POST, PUT, DELETE) that a
// browser says comes from another origin (http.CrossOriginProtection).
func crossOriginGuard(h http.Handler) http.Handler {
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		jsonhttp.Error(w, http.StatusForbidden, "cross-origin request refused: the admin API takes changes from its own dashboard or from tools like curl, not from other sites")
	}))
	return csrf.Handler(h)
}

// jsonNotFound answers the requests mux has no route for with a JSON 404,
// or 405 and Allow when the path has routes for other methods, instead of
// ServeMux's plain text. Paths that are not clean go to mux, which
// redirects them.
func jsonNotFound(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" || path.Clean(r.URL.Path) != r.URL.Path {
			mux.ServeHTTP(w, r)
			return
		}
		var allowed []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "" {
				allowed = append(allowed, m)
			}
		}
		if len(allowed) == 0 {
			jsonhttp.Error(w, http.StatusNotFound, fmt.Sprintf("no %s in the admin API (see GET /api/targets, /api/stickiness, /api/events, /metrics)", r.URL.Path))
			return
		}
		if slices.Contains(allowed, http.MethodGet) {
			allowed = append(allowed, http.MethodHead)
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		jsonhttp.Error(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(allowed, ", ")))
	})
}

func (b *Balancer) getTargets(w http.ResponseWriter, r *http.Request) {
	jsonhttp.Write(w, http.StatusOK, map[string]any{"targets": b.Targets()})
}

// targetAction serves POST /api/targets/{name}/<action>: it applies act
// and answers status with the target's status, or 404.
func targetAction(act func(name string) (TargetStatus, bool), status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		st, ok := act(name)
		if !ok {
			jsonhttp.Error(w, http.StatusNotFound, fmt.Sprintf("no target named %q", name))
			return
		}
		jsonhttp.Write(w, status, st)
	}
}

// stickinessJSON is the wire form of Stickiness.
type stickinessJSON struct {
	Mode      *string `json:"mode,omitempty"`
	Duration  *string `json:"duration,omitempty"`
	AppCookie *string `json:"app_cookie,omitempty"`
}

func toJSON(s Stickiness) stickinessJSON {
	d := formatDuration(s.Duration)
	return stickinessJSON{Mode: &s.Mode, Duration: &d, AppCookie: &s.AppCookie}
}

func (b *Balancer) getStickiness(w http.ResponseWriter, r *http.Request) {
	jsonhttp.Write(w, http.StatusOK, toJSON(b.Stickiness()))
}

func (b *Balancer) putStickiness(w http.ResponseWriter, r *http.Request) {
	b.putStickinessExcept(w, r, "", "")
}

// putStickinessExcept is putStickiness refusing the mode refused (when not
// empty) with 400 and why.
func (b *Balancer) putStickinessExcept(w http.ResponseWriter, r *http.Request, refused, why string) {
	var in stickinessJSON
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		jsonhttp.Error(w, http.StatusBadRequest, "body must be JSON like {\"mode\":\"duration\",\"duration\":\"24h\",\"app_cookie\":\"\"}")
		return
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		jsonhttp.Error(w, http.StatusBadRequest, "body must hold one JSON object")
		return
	}
	s := b.Stickiness()
	if in.Mode != nil {
		s.Mode = *in.Mode
	}
	if in.Duration != nil {
		d, err := time.ParseDuration(*in.Duration)
		if err != nil {
			jsonhttp.Error(w, http.StatusBadRequest, fmt.Sprintf("duration %q: must be a duration such as 30s, 1h or 24h, from 1s to 168h", *in.Duration))
			return
		}
		s.Duration = d
	}
	if in.AppCookie != nil {
		s.AppCookie = *in.AppCookie
	}
	if refused != "" && s.Mode == refused {
		jsonhttp.Error(w, http.StatusBadRequest, why)
		return
	}
	if err := b.SetStickiness(s); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			jsonhttp.Error(w, http.StatusBadRequest, jsonFieldName(fe.Field)+" "+fmt.Sprintf("%q: %v", fe.Value, fe.Err))
			return
		}
		jsonhttp.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	jsonhttp.Write(w, http.StatusOK, toJSON(b.Stickiness()))
}

// jsonFieldName names a Config field as PUT /api/stickiness does.
func jsonFieldName(field string) string {
	switch field {
	case "Sticky":
		return "mode"
	case "StickyDuration":
		return "duration"
	case "AppCookie":
		return "app_cookie"
	}
	return field
}

// formatDuration writes d without trailing zero units: 24h, 1h30m, 90s
// becomes 1m30s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
