package lb

import (
	"html/template"
	"net/http"
)

// dashboard serves GET / of the admin listener: for now a page that links to
// the API. A later issue replaces this file with the real dashboard.
func (b *Balancer) dashboard(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// Parsed per request: the page is rare, and a package-level template
	// would be global state.
	page := template.Must(template.New("dashboard").Parse(dashboardPage))
	page.Execute(w, struct {
		Sticky  Stickiness
		Targets []TargetStatus
	}{b.Stickiness(), b.Targets()})
}

const dashboardPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>stickylab lb</title></head>
<body>
<h1>stickylab lb</h1>
<p>Stickiness: <strong>{{.Sticky.Mode}}</strong></p>
<table>
<tr><th>target</th><th>URL</th><th>state</th><th>in flight</th><th>requests</th></tr>
{{range .Targets}}<tr><td>{{.Name}}</td><td>{{.URL}}</td><td>{{.State}}</td><td>{{.InFlight}}</td><td>{{.Requests}}</td></tr>
{{end}}</table>
<ul>
<li><a href="/api/targets">/api/targets</a> (POST /api/targets/{name}/drain, /register)</li>
<li><a href="/api/stickiness">/api/stickiness</a> (PUT to switch)</li>
<li><a href="/api/events">/api/events</a> (server-sent events)</li>
<li><a href="/metrics">/metrics</a></li>
</ul>
</body></html>
`
