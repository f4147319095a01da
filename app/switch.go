package app

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gorilla/sessions"
)

// The in-place store switch: PUT /admin/store {"store":"redis","migrate":true}
// makes a running instance read Redis first and its own memory second,
// moving each session it finds in memory to Redis (sessionstore.Config.
// MigrateFrom), without a restart, so that a move from memory to Redis logs
// nobody out. A restart would: the memory dies with the process.
//
// The route is on the app's one listener, which the balancer proxies to, so
// anyone can reach it: it answers only requests that carry Config.AdminToken
// as a bearer token, which the lab hands to each instance it starts (in the
// environment, which ps does not show). A loopback-only check would protect
// nothing here: in the lab every proxied request comes from 127.0.0.1.

// StoreSwitch is the body of PUT /admin/store.
type StoreSwitch struct {
	Store   string `json:"store"`
	Migrate bool   `json:"migrate"`
}

// storeRef holds the current store, for an atomic swap.
type storeRef struct{ Store }

// currentStore is the store new requests use.
func (a *App) currentStore() Store { return a.store.Load().Store }

// renew gives s a new ID at its next save, through the store that loaded it
// (an in-place switch may have happened since).
func renew(s *sessions.Session) {
	if r, ok := s.Store().(interface{ Renew(*sessions.Session) }); ok {
		r.Renew(s)
	}
}

// adminAllowed reports whether r carries the admin token. Without a token
// configured nothing is allowed.
func (a *App) adminAllowed(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return a.adminToken != "" && ok && subtle.ConstantTimeCompare([]byte(got), []byte(a.adminToken)) == 1
}

// switchStore serves PUT /admin/store. Only the move the lesson needs is
// offered in place: from memory to Redis, migrating. Any other switch is a
// restart with other flags. Switching to the store in use changes nothing.
func (a *App) switchStore(w http.ResponseWriter, r *http.Request) {
	if !a.adminAllowed(r) {
		a.writeJSON(w, r, http.StatusForbidden, map[string]string{"error": "admin token required"})
		return
	}
	var req StoreSwitch
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.Store != "redis" || !req.Migrate {
		a.writeJSON(w, r, http.StatusBadRequest, map[string]string{
			"error": `body must be {"store":"redis","migrate":true}: the only switch made in place; restart the instance for another`,
		})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.storeTimeout)
	defer cancel()
	a.switchMu.Lock()
	defer a.switchMu.Unlock()
	current := a.currentStore()
	switch current.Mode() {
	case req.Store:
	case "memory":
		next, err := a.openStore(ctx, req, current)
		if errors.Is(err, errCannotSwitch) {
			a.writeJSON(w, r, http.StatusConflict, map[string]string{"error": err.Error()})
			return
		}
		if err != nil {
			a.log.LogAttrs(r.Context(), slog.LevelError, "in-place store switch failed", slog.Any("err", err))
			a.writeJSON(w, r, http.StatusServiceUnavailable, map[string]string{"error": "could not switch: " + msgStoreUnavailable})
			return
		}
		a.store.Store(&storeRef{next})
		a.metrics.setStore(a.name, next.Mode())
		a.log.Info("app: store switched in place", "from", current.Mode(), "to", next.Mode(), "migrate", req.Migrate)
	default:
		a.writeJSON(w, r, http.StatusConflict, map[string]string{"error": "only a memory store switches to redis in place; this instance runs " + current.Mode()})
		return
	}
	a.writeJSON(w, r, http.StatusOK, map[string]string{"instance": a.name, "store": a.currentStore().Mode()})
}

// errCannotSwitch is returned by a Config.SwitchStore that cannot make the
// switch it is asked for at all (as opposed to failing to reach the store).
var errCannotSwitch = errors.New("app: this instance cannot switch stores in place")

// openStore calls Config.SwitchStore.
func (a *App) openStore(ctx context.Context, req StoreSwitch, current Store) (Store, error) {
	if a.switchTo == nil {
		return nil, errCannotSwitch
	}
	return a.switchTo(ctx, req, current)
}
