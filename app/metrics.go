package app

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
)

// httpMetrics are the app's own metrics, labelled by route pattern (never by
// raw path, so that scanners probing random URLs cannot grow the series).
type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	info     *prometheus.GaugeVec
}

func newHTTPMetrics(reg prometheus.Registerer, instance, store string) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stickylab_http_requests_total",
			Help: "HTTP requests served, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "stickylab_http_request_duration_seconds",
			Help:    "Time to serve HTTP requests, by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
	}
	m.info = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "stickylab_app_info",
		Help: "Always 1; its labels name the instance and its session store mode.",
	}, []string{"instance_name", "store"})
	m.setStore(instance, store)
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.info} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// setStore makes stickylab_app_info name store, after an in-place switch.
func (m *httpMetrics) setStore(instance, store string) {
	m.info.Reset()
	m.info.WithLabelValues(instance, store).Set(1)
}

// observe counts, times and logs every request, one log line each: debug
// level for the probes and scrapes that arrive every few seconds, info for
// the rest.
func (a *App) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		elapsed := time.Since(start)

		status := ww.Status()
		if status == 0 {
			status = http.StatusOK // the handler wrote nothing at all
		}
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		method := metricMethod(r.Method)
		a.metrics.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
		a.metrics.latency.WithLabelValues(route, method).Observe(elapsed.Seconds())

		level := slog.LevelInfo
		switch route {
		case "/healthz", "/readyz", "/metrics":
			level = slog.LevelDebug
		}
		a.log.LogAttrs(r.Context(), level, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", status),
			slog.Duration("duration", elapsed),
			slog.Int("bytes", ww.BytesWritten()),
			slog.String("remote", r.RemoteAddr),
		)
	})
}

// metricMethod keeps the method label to the standard methods: a client can
// send any token as a method.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}
