package app

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
)

//go:embed templates
var templateFS embed.FS

// views renders the HTML of one instance: the page and the error page, with
// the instance's colour baked into the inline style sheet.
type views struct {
	tmpl    *template.Template
	chrome  chrome
	csp     string // Content-Security-Policy without frame-ancestors, which depends on the request
	headers map[string]string
}

// chrome is what every page shows: which instance served it, in its colour.
type chrome struct {
	Instance string
	Color    string
	CSS      template.CSS // trusted: our own embedded style sheet
	Favicon  template.URL // trusted: an SVG square in the instance colour
}

// pageData is the page: the session and how to read it.
type pageData struct {
	chrome
	Balancer    *stripView // what the balancer decided for this request; nil without its header
	Session     sessionView
	Stored      bool   // the session is in the store; false: anonymous, nothing stored
	Shared      bool   // the store is shared by all instances (Redis)
	Fingerprint string // a short hash of the session ID, to see it change
	MaxLen      int    // the longest username or item
}

type errorData struct {
	chrome
	Status     int
	StatusText string
	Message    string
}

func newViews(instance, color string) (*views, error) {
	tmpl, err := template.ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse templates: %w", err)
	}
	base, err := templateFS.ReadFile("templates/style.css")
	if err != nil {
		return nil, fmt.Errorf("read style sheet: %w", err)
	}
	css := fmt.Sprintf(":root{--instance:%s}\n%s", color, base)
	sum := sha256.Sum256([]byte(css))
	icon := fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="4" fill="%s"/></svg>`, color)

	// The style sheet is inline, allowed by its hash: the page needs no
	// other resource, no script at all, and posts forms only to itself.
	csp := fmt.Sprintf("default-src 'none'; style-src 'sha256-%s'; img-src data:; form-action 'self'; base-uri 'none'",
		base64.StdEncoding.EncodeToString(sum[:]))
	return &views{
		tmpl: tmpl,
		csp:  csp,
		chrome: chrome{
			Instance: instance,
			Color:    color,
			CSS:      template.CSS(css),
			Favicon:  template.URL("data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString([]byte(icon))),
		},
		headers: map[string]string{
			"Content-Type":           "text/html; charset=utf-8",
			"Cache-Control":          "no-store",
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "same-origin",
		},
	}, nil
}

func (v *views) renderPage(w http.ResponseWriter, log *slog.Logger, r *http.Request, d pageData) {
	d.chrome = v.chrome
	v.render(w, log, r, http.StatusOK, "page.html", d)
}

func (v *views) errorPage(w http.ResponseWriter, log *slog.Logger, r *http.Request, status int, msg string) {
	v.render(w, log, r, status, "error.html", errorData{
		chrome:     v.chrome,
		Status:     status,
		StatusText: http.StatusText(status),
		Message:    msg,
	})
}

// render executes the template into a buffer first, so that a failing
// template gives a clean 500 instead of half a page.
func (v *views) render(w http.ResponseWriter, log *slog.Logger, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := v.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		log.LogAttrs(r.Context(), slog.LevelError, "render page", slog.String("template", name), slog.Any("err", err))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	for k, val := range v.headers {
		h.Set(k, val)
	}
	h.Set("Content-Security-Policy", v.csp+"; frame-ancestors "+frameAncestors(r.Host))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// frameAncestors is the frame-ancestors source list of a page requested
// with the Host header host: the page's own origin, and pages of the same
// host name on any port, so that the lab's dashboard (the admin listener,
// another port of the same host) can show the shop beside it. No other site
// can frame it: a browser sends the real host name, whatever a page
// elsewhere wants. A host name that is not a plain DNS name or IPv4
// address gets 'self' only.
func frameAncestors(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "" || len(host) > 253 {
		return "'self'"
	}
	for _, c := range []byte(host) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return "'self'"
		}
	}
	return fmt.Sprintf("'self' http://%s:* https://%s:*", host, host)
}
