package deploy_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"stickylab/lb"
)

// appInstances is how many app pods every overlay runs.
const appInstances = 3

// checkApp: three app pods in all, each alive on /healthz and ready on
// /readyz of the port it listens on, its session key from the Secret and
// its sessions in the overlay's store.
func checkApp(t *testing.T, b built, store string) {
	apps := b.withRole("app")
	if len(apps) == 0 {
		t.Fatal("no app container")
	}
	var total int32
	for _, w := range b.workloads() {
		if _, ok := apps[w.id]; ok {
			total += w.replicas
		}
	}
	if total != appInstances {
		t.Errorf("app pods: %d in all, want %d", total, appInstances)
	}
	for id, c := range apps {
		listen, _ := envValue(c, "STICKYLAB_LISTEN")
		for kind, want := range map[string]struct {
			probe *corev1.Probe
			path  string
		}{"liveness": {c.LivenessProbe, "/healthz"}, "readiness": {c.ReadinessProbe, "/readyz"}} {
			p := want.probe
			if p == nil || p.HTTPGet == nil {
				t.Errorf("%s: %s probe %+v, want GET %s", id, kind, p, want.path)
				continue
			}
			if p.HTTPGet.Path != want.path {
				t.Errorf("%s: %s probe on %s, want %s", id, kind, p.HTTPGet.Path, want.path)
			}
			if port, _ := containerPort(c, p.HTTPGet.Port); fmt.Sprintf(":%d", port) != listen.Value {
				t.Errorf("%s: %s probe on port %d, but the app listens on %q", id, kind, port, listen.Value)
			}
		}
		if e, _ := envValue(c, "STICKYLAB_SESSION_KEY"); e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			t.Errorf("%s: STICKYLAB_SESSION_KEY %+v, want it from a Secret", id, e)
		}
		if e, _ := envValue(c, "STICKYLAB_STORE"); e.Value != store {
			t.Errorf("%s: STICKYLAB_STORE %q, want %q", id, e.Value, store)
		}
	}
}

// checkRedis: one Redis StatefulSet with AOF on its volume, behind the
// Service that every app's STICKYLAB_REDIS_URL names.
func checkRedis(t *testing.T, env deployEnv, b built) {
	if len(b.statefulSets) != 1 {
		t.Fatalf("%d StatefulSets, want 1 (Redis)", len(b.statefulSets))
	}
	ss := b.statefulSets[0]
	c := ss.Spec.Template.Spec.Containers[0]
	if c.Image != env.redisImage {
		t.Errorf("StatefulSet/%s: image %s, want %s", ss.Name, c.Image, env.redisImage)
	}
	args := strings.Join(c.Args, " ")
	dir := ""
	if i := slices.Index(c.Args, "--dir"); i >= 0 && i+1 < len(c.Args) {
		dir = c.Args[i+1]
	}
	if !strings.Contains(args, "--appendonly yes") || dir == "" {
		t.Errorf("StatefulSet/%s: args %q, want --appendonly yes and a --dir", ss.Name, args)
	}
	// The AOF directory is a volume claim's mount: it outlives the pod.
	var claims []string
	for _, v := range ss.Spec.VolumeClaimTemplates {
		claims = append(claims, v.Name)
	}
	if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
		return m.MountPath == dir && slices.Contains(claims, m.Name)
	}) {
		t.Errorf("StatefulSet/%s: --dir %s is not the mount of a volume claim template (%v)", ss.Name, dir, claims)
	}
	gov := b.service(ss.Spec.ServiceName)
	if gov == nil || gov.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("StatefulSet/%s: its serviceName %q is not a headless Service of the overlay", ss.Name, ss.Spec.ServiceName)
	}
	for id, app := range b.withRole("app") {
		u, _ := envValue(app, "STICKYLAB_REDIS_URL")
		host, port := hostPort(t, id+" STICKYLAB_REDIS_URL", u.Value)
		if svc := b.servicePort(t, id+" STICKYLAB_REDIS_URL", host, port, ""); svc != nil {
			if sel := b.selected(svc); len(sel) != 1 || sel[0].id != "StatefulSet/"+ss.Name {
				t.Errorf("%s: STICKYLAB_REDIS_URL %s: Service %s selects %v, want StatefulSet/%s", id, u.Value, host, sel, ss.Name)
			}
		}
	}
}

// checkBalancer: the lab's balancer, with its cookie key from the Secret,
// behind a Service, each of its targets a Service that selects exactly one
// app pod whose instance name is the target's.
func checkBalancer(t *testing.T, b built) {
	lbs := b.withRole("lb")
	if len(lbs) != 1 {
		t.Fatalf("%d lb containers, want 1", len(lbs))
	}
	if len(b.ingresses) > 0 {
		t.Errorf("%d Ingresses beside the lab's balancer, want none", len(b.ingresses))
	}
	for id, c := range lbs {
		if e, _ := envValue(c, "STICKYLAB_COOKIE_KEY"); e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			t.Errorf("%s: STICKYLAB_COOKIE_KEY %+v, want it from a Secret (cookies that survive a restart)", id, e)
		}
		if sticky, _ := envValue(c, "STICKYLAB_STICKY"); sticky.Value == "app" {
			if e, _ := envValue(c, "STICKYLAB_APP_COOKIE"); e.Value != "stickylab_session" {
				t.Errorf("%s: -sticky app follows %q, want the app's default session cookie stickylab_session", id, e.Value)
			}
		}
		targets, _ := envValue(c, "STICKYLAB_TARGETS")
		var names []string
		for _, tg := range strings.Split(targets.Value, ",") {
			name, raw, ok := strings.Cut(tg, "=")
			if !ok {
				t.Errorf("%s: target %q: want name=URL", id, tg)
				continue
			}
			names = append(names, name)
			host, port := hostPort(t, id+" target "+name, raw)
			svc := b.servicePort(t, id+" target "+name, host, port, "")
			if svc == nil {
				continue
			}
			sel := b.selected(svc)
			if len(sel) != 1 || sel[0].replicas != 1 {
				t.Errorf("%s: target %s: Service %s selects %d workloads (%v), want one of one replica: a target is one instance",
					id, name, host, len(sel), sel)
				continue
			}
			app := b.withRole("app")[sel[0].id]
			if e, _ := envValue(app, "STICKYLAB_NAME"); e.Value != name {
				t.Errorf("%s: target %s is %s, whose instance name is %q", id, name, sel[0].id, e.Value)
			}
		}
		slices.Sort(names)
		if len(slices.Compact(names)) != appInstances {
			t.Errorf("%s: targets %q, want %d different instances", id, targets.Value, appInstances)
		}
	}
}

// ingressBackend: one Ingress of the class, all paths to the app Service,
// which selects the app Deployment of three; no lab balancer beside it.
func ingressBackend(t *testing.T, b built, class string) *networkingv1.Ingress {
	if len(b.ingresses) != 1 {
		t.Fatalf("%d Ingresses, want 1", len(b.ingresses))
	}
	if n := len(b.withRole("lb")); n > 0 {
		t.Errorf("%d lab balancers beside the %s Ingress, want none", n, class)
	}
	ing := b.ingresses[0]
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != class {
		t.Errorf("Ingress/%s: class %v, want %s", ing.Name, ing.Spec.IngressClassName, class)
	}
	for _, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for _, p := range r.HTTP.Paths {
			s := p.Backend.Service
			if s == nil {
				t.Errorf("Ingress/%s path %s: no Service backend", ing.Name, p.Path)
				continue
			}
			svc := b.servicePort(t, "Ingress/"+ing.Name, s.Name, s.Port.Number, s.Port.Name)
			if svc == nil {
				continue
			}
			if sel := b.selected(svc); len(sel) != 1 || sel[0].replicas != appInstances {
				t.Errorf("Ingress/%s: Service %s selects %v, want the app Deployment of %d", ing.Name, s.Name, sel, appInstances)
			}
		}
	}
	return ing
}

// wantAnnotations checks annotations against the values the lab's
// balancer uses by default, which docs/beyond-one-machine.md pairs with them.
func wantAnnotations(t *testing.T, ing *networkingv1.Ingress, want map[string]string) {
	for k, v := range want {
		if got, ok := ing.Annotations[k]; !ok || got != v {
			t.Errorf("Ingress/%s: annotation %s = %q, want %q", ing.Name, k, got, v)
		}
	}
}

func seconds(d time.Duration) string { return fmt.Sprint(int64(d / time.Second)) }

func checkNginxIngress(t *testing.T, b built) {
	ing := ingressBackend(t, b, "nginx")
	const p = "nginx.ingress.kubernetes.io/"
	wantAnnotations(t, ing, map[string]string{
		p + "affinity":                         "cookie",
		p + "affinity-mode":                    "persistent",
		p + "session-cookie-max-age":           seconds(lb.DefaultStickyDuration),
		p + "session-cookie-expires":           seconds(lb.DefaultStickyDuration),
		p + "session-cookie-change-on-failure": "true",
	})
	if ing.Annotations[p+"session-cookie-name"] == "" {
		t.Errorf("Ingress/%s: no session-cookie-name", ing.Name)
	}
}

func checkALBIngress(t *testing.T, b built) {
	ing := ingressBackend(t, b, "alb")
	const p = "alb.ingress.kubernetes.io/"
	wantAnnotations(t, ing, map[string]string{
		p + "target-type":                  "ip",
		p + "healthcheck-path":             lb.DefaultHealthPath,
		p + "healthcheck-interval-seconds": seconds(lb.DefaultHealthInterval),
		p + "healthcheck-timeout-seconds":  seconds(lb.DefaultHealthTimeout),
		p + "healthy-threshold-count":      fmt.Sprint(lb.DefaultHealthyThreshold),
		p + "unhealthy-threshold-count":    fmt.Sprint(lb.DefaultUnhealthyThreshold),
	})
	attrs := map[string]string{}
	for _, kv := range strings.Split(ing.Annotations[p+"target-group-attributes"], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Errorf("Ingress/%s: target group attribute %q: want key=value", ing.Name, kv)
		}
		attrs[k] = v
	}
	for k, v := range map[string]string{
		"stickiness.enabled":                    "true",
		"stickiness.type":                       "lb_cookie",
		"stickiness.lb_cookie.duration_seconds": seconds(lb.DefaultStickyDuration),
		"deregistration_delay.timeout_seconds":  seconds(lb.DefaultDeregistrationDelay),
	} {
		if attrs[k] != v {
			t.Errorf("Ingress/%s: target group attribute %s = %q, want %q", ing.Name, k, attrs[k], v)
		}
	}
}
