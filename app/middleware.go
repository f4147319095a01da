package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// instanceHeaderName names the instance that served a response, so that curl -i
// and the experiment can see where the balancer sent each request.
const instanceHeaderName = "X-Stickylab-Instance"

func (a *App) instanceHeader(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(instanceHeaderName, a.name)
		next.ServeHTTP(w, r)
	})
}

// recoverer turns a panic in a handler into a logged stack and a generic 500
// (JSON on /api/, a page elsewhere) that reveals nothing of the panic. It
// must run inside observe, whose writer tells it whether a response was
// already started.
func (a *App) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v) // the server's way to abort a response quietly
			}
			a.log.LogAttrs(r.Context(), slog.LevelError, "panic serving request",
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Any("panic", v),
				slog.String("stack", string(debug.Stack())),
			)
			if ww, ok := w.(middleware.WrapResponseWriter); ok && ww.Status() != 0 {
				return // too late for a status: the client gets a cut response
			}
			a.fail(w, r, http.StatusInternalServerError, "internal error")
		}()
		next.ServeHTTP(w, r)
	})
}

func (a *App) notFound(w http.ResponseWriter, r *http.Request) {
	a.fail(w, r, http.StatusNotFound, "not found: "+r.URL.Path)
}

// methodNotAllowed answers 405 with the Allow header (RFC 9110, 15.5.6) that
// chi's default handler would set: chi drops the allowed methods when the
// handler is replaced, so it asks the router which methods match the path.
func (a *App) methodNotAllowed(router chi.Routes) http.HandlerFunc {
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions}
	return func(w http.ResponseWriter, r *http.Request) {
		var allowed []string
		for _, m := range methods {
			// GetHead serves HEAD wherever GET is routed.
			ok := router.Match(chi.NewRouteContext(), m, r.URL.Path) ||
				m == http.MethodHead && router.Match(chi.NewRouteContext(), http.MethodGet, r.URL.Path)
			if ok {
				allowed = append(allowed, m)
			}
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		a.fail(w, r, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s (allowed: %s)",
			r.Method, r.URL.Path, strings.Join(allowed, ", ")))
	}
}

func (a *App) crossOriginDenied(w http.ResponseWriter, r *http.Request) {
	a.fail(w, r, http.StatusForbidden, "cross-origin request refused: post from a page of this site")
}
