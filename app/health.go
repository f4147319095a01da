package app

import (
	"context"
	"log/slog"
	"net/http"
)

// healthz is liveness: 200 while the process serves, whatever the store does,
// so that an orchestrator does not restart instances for a Redis outage.
func (a *App) healthz(w http.ResponseWriter, r *http.Request) {
	a.writeJSON(w, r, http.StatusOK, map[string]string{"status": "ok", "instance": a.name})
}

// readyz is readiness: 200 when the session store answers a ping within the
// store timeout, else 503, so that a balancer stops sending users to an
// instance that cannot load their sessions, and sends them again when the
// store is back.
func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), a.storeTimeout)
	defer cancel()
	if err := a.currentStore().Ping(ctx); err != nil {
		a.log.LogAttrs(r.Context(), slog.LevelWarn, "not ready: session store ping failed", slog.Any("err", err))
		a.writeJSON(w, r, http.StatusServiceUnavailable, map[string]string{"error": msgStoreUnavailable})
		return
	}
	a.writeJSON(w, r, http.StatusOK, map[string]string{"status": "ready", "instance": a.name, "store": a.currentStore().Mode()})
}
