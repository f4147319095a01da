// Package jsonhttp writes the JSON answers of the lab's and the balancer's
// admin APIs.
package jsonhttp

import (
	"encoding/json"
	"net/http"
)

// Write answers with status and v as JSON, not to be cached.
func Write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// Error answers with status and {"error": msg}.
func Error(w http.ResponseWriter, status int, msg string) {
	Write(w, status, map[string]string{"error": msg})
}
