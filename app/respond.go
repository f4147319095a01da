package app

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"stickylab/sessionstore"
)

// msgStoreUnavailable is the documented answer when the session store fails.
const msgStoreUnavailable = "session store unavailable"

// msgTooLarge answers a change that would make a cookie-store session larger
// than a browser keeps; nothing was saved.
const msgTooLarge = "session too large for a cookie: the cookie store keeps the whole session in a cookie of at most 4096 bytes; nothing was saved"

// clientError is a request the client must change: its message is shown to
// the client as is, so it must not hold internal detail.
type clientError struct {
	status int
	msg    string
}

func (e *clientError) Error() string { return e.msg }

func badRequest(msg string) *clientError { return &clientError{http.StatusBadRequest, msg} }

// isAPI reports whether r is for the JSON API, which answers errors as JSON.
func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

// fail answers with status and msg, a message for the client: JSON
// {"error": msg} on /api/ and the probes, a page elsewhere.
func (a *App) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	switch {
	case isAPI(r), r.URL.Path == "/healthz", r.URL.Path == "/readyz":
		a.writeJSON(w, r, status, map[string]string{"error": msg})
	default:
		a.views.errorPage(w, a.log, r, status, msg)
	}
}

// failSession answers a failed session load, change or save. Store failures
// become 503 with the documented message and conflicts 409; the details go to
// the log only.
func (a *App) failSession(w http.ResponseWriter, r *http.Request, err error) {
	var ce *clientError
	switch {
	case errors.As(err, &ce):
		a.fail(w, r, ce.status, ce.msg)
	case errors.Is(err, sessionstore.ErrTooLarge):
		// The cookie store keeps the whole session in the cookie; the
		// browser would drop (or a proxy truncate) a bigger one.
		a.fail(w, r, http.StatusConflict, msgTooLarge)
	case errors.Is(err, sessionstore.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		a.log.LogAttrs(r.Context(), slog.LevelError, "session store unavailable",
			slog.String("path", r.URL.Path), slog.Any("err", err))
		w.Header().Set("Retry-After", "1")
		a.fail(w, r, http.StatusServiceUnavailable, msgStoreUnavailable)
	case errors.Is(err, sessionstore.ErrConflict):
		a.log.LogAttrs(r.Context(), slog.LevelWarn, "session conflict retries exhausted",
			slog.String("path", r.URL.Path), slog.Any("err", err))
		a.fail(w, r, http.StatusConflict, "the session kept changing under concurrent requests; try again")
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads this answer.
		a.fail(w, r, http.StatusServiceUnavailable, "request canceled")
	default:
		a.log.LogAttrs(r.Context(), slog.LevelError, "session failure",
			slog.String("path", r.URL.Path), slog.Any("err", err))
		a.fail(w, r, http.StatusInternalServerError, "internal error")
	}
}

// writeJSON answers v as JSON. Answers are never cached: they show one
// user's session.
func (a *App) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		a.log.LogAttrs(r.Context(), slog.LevelError, "encode JSON answer", slog.Any("err", err))
		status, body = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}
