package deploy_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// workload is a Deployment or a StatefulSet: its pods are what the checks
// look at.
type workload struct {
	id       string // "Deployment/app-1"
	replicas int32
	pod      *corev1.PodTemplateSpec
}

func (b built) workloads() []workload {
	var w []workload
	for _, d := range b.deployments {
		w = append(w, workload{"Deployment/" + d.Name, replicasOf(d.Spec.Replicas), &d.Spec.Template})
	}
	for _, s := range b.statefulSets {
		w = append(w, workload{"StatefulSet/" + s.Name, replicasOf(s.Spec.Replicas), &s.Spec.Template})
	}
	return w
}

func replicasOf(r *int32) int32 {
	if r == nil {
		return 1 // the API's default
	}
	return *r
}

// role is what a container of the stickylab image runs (its first
// argument: app, lb), or "" for another image.
func role(c corev1.Container) string {
	if !strings.HasPrefix(c.Image, "stickylab:") || len(c.Args) == 0 {
		return ""
	}
	return c.Args[0]
}

func envValue(c corev1.Container, name string) (corev1.EnvVar, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e, true
		}
	}
	return corev1.EnvVar{}, false
}

// withRole is every container of that role, with the workload it is in.
func (b built) withRole(r string) map[string]corev1.Container {
	m := map[string]corev1.Container{}
	for _, w := range b.workloads() {
		for _, c := range w.pod.Spec.Containers {
			if role(c) == r {
				m[w.id] = c
			}
		}
	}
	return m
}

// pinned reports whether an image names a fixed version: a digest, or a tag
// other than latest.
func pinned(image string) bool {
	if strings.Contains(image, "@sha256:") {
		return true
	}
	i := strings.LastIndex(image, ":")
	return i > strings.LastIndex(image, "/") && image[i+1:] != "latest" && image[i+1:] != ""
}

// checkWorkloads checks every pod of the overlay: no service account token,
// non-root with the default seccomp profile, read-only root file systems,
// no capabilities, a memory limit, pinned images, probes on declared ports,
// known STICKYLAB_ variables and Secret references that resolve.
func checkWorkloads(t *testing.T, env deployEnv, b built) {
	for _, w := range b.workloads() {
		spec := w.pod.Spec
		if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
			t.Errorf("%s: automountServiceAccountToken is not false", w.id)
		}
		psc := spec.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
			t.Errorf("%s: pod securityContext %+v: want runAsNonRoot and a non-zero runAsUser", w.id, psc)
		} else if psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: seccompProfile %+v, want RuntimeDefault", w.id, psc.SeccompProfile)
		}
		for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
			id := w.id + " container " + c.Name
			sc := c.SecurityContext
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				t.Errorf("%s: root file system not read-only", id)
			}
			if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Errorf("%s: allowPrivilegeEscalation is not false", id)
			}
			if sc == nil || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
				t.Errorf("%s: capabilities: want drop ALL and nothing added", id)
			}
			if sc != nil && sc.Privileged != nil && *sc.Privileged {
				t.Errorf("%s: privileged", id)
			}
			if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
				t.Errorf("%s: no memory limit", id)
			}
			if !pinned(c.Image) {
				t.Errorf("%s: image %q is not pinned (a tag other than latest, or a digest)", id, c.Image)
			}
			switch {
			case role(c) != "":
				// deploy/Dockerfile's image: its files are readable, not
				// writable, by its USER, which the pod must run as.
				if psc != nil && psc.RunAsUser != nil && *psc.RunAsUser != env.uid {
					t.Errorf("%s: runAsUser %d, want %d (deploy/Dockerfile's USER)", id, *psc.RunAsUser, env.uid)
				}
			case strings.HasPrefix(c.Image, "redis:"):
				if c.Image != env.redisImage {
					t.Errorf("%s: image %s, want docker-compose.yml's %s", id, c.Image, env.redisImage)
				}
			default:
				t.Errorf("%s: image %s is neither stickylab's nor docker-compose.yml's redis", id, c.Image)
			}
			checkProbes(t, id, c)
			checkEnv(t, id, env, b, c)
		}
	}
}

// checkProbes: a container that listens has both probes, each on a port
// the container declares.
func checkProbes(t *testing.T, id string, c corev1.Container) {
	if len(c.Ports) == 0 {
		return
	}
	for kind, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if p == nil {
			t.Errorf("%s: no %s probe", id, kind)
			continue
		}
		var port *intstr.IntOrString
		switch {
		case p.HTTPGet != nil:
			port = &p.HTTPGet.Port
		case p.TCPSocket != nil:
			port = &p.TCPSocket.Port
		case p.Exec != nil && len(p.Exec.Command) > 0:
			continue
		default:
			t.Errorf("%s: %s probe has no handler", id, kind)
			continue
		}
		if _, ok := containerPort(c, *port); !ok {
			t.Errorf("%s: %s probe on port %s, which the container does not declare", id, kind, port.String())
		}
	}
}

func containerPort(c corev1.Container, port intstr.IntOrString) (int32, bool) {
	for _, p := range c.Ports {
		if (port.Type == intstr.String && p.Name == port.StrVal) || (port.Type == intstr.Int && p.ContainerPort == port.IntVal) {
			return p.ContainerPort, true
		}
	}
	return 0, false
}

// checkEnv: every STICKYLAB_ variable is a flag of the command (a misspelt
// one would be ignored in silence), and every Secret reference resolves to
// a Secret of the overlay that has the key.
func checkEnv(t *testing.T, id string, env deployEnv, b built, c corev1.Container) {
	for _, e := range c.Env {
		if name, ok := strings.CutPrefix(e.Name, "STICKYLAB_"); ok {
			flag := strings.ReplaceAll(strings.ToLower(name), "_", "-")
			if !env.flags[flag] {
				t.Errorf("%s: %s names no flag of stickylab (-%s)", id, e.Name, flag)
			}
		}
		if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			continue
		}
		ref := e.ValueFrom.SecretKeyRef
		i := slices.IndexFunc(b.secrets, func(s *corev1.Secret) bool { return s.Name == ref.Name })
		if i < 0 {
			t.Errorf("%s: %s from Secret %s, which the overlay does not make", id, e.Name, ref.Name)
		} else if len(b.secrets[i].Data[ref.Key]) == 0 {
			t.Errorf("%s: %s from key %s of Secret %s, which is missing or empty", id, e.Name, ref.Key, ref.Name)
		}
	}
}

// selected is the workloads whose pods a Service's selector matches.
func (b built) selected(svc *corev1.Service) []workload {
	var w []workload
	for _, x := range b.workloads() {
		if len(svc.Spec.Selector) > 0 && matches(svc.Spec.Selector, x.pod.Labels) {
			w = append(w, x)
		}
	}
	return w
}

func matches(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// checkServices: every Service selects pods, and its ports reach a port
// that all of them declare.
func checkServices(t *testing.T, b built) {
	for _, svc := range b.services {
		sel := b.selected(svc)
		if len(sel) == 0 {
			t.Errorf("Service/%s: its selector %v matches no pod of the overlay", svc.Name, svc.Spec.Selector)
			continue
		}
		for _, p := range svc.Spec.Ports {
			for _, w := range sel {
				if !slices.ContainsFunc(w.pod.Spec.Containers, func(c corev1.Container) bool {
					_, ok := containerPort(c, p.TargetPort)
					return ok
				}) {
					t.Errorf("Service/%s port %s: target port %s is declared by no container of %s", svc.Name, p.Name, p.TargetPort.String(), w.id)
				}
			}
		}
	}
}

func (b built) service(name string) *corev1.Service {
	for _, s := range b.services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// servicePort resolves a host:port (or a Service backend) to the Service
// and checks that it has that port.
func (b built) servicePort(t *testing.T, what, name string, port int32, portName string) *corev1.Service {
	t.Helper()
	svc := b.service(name)
	if svc == nil {
		t.Errorf("%s: Service %s is not in the overlay", what, name)
		return nil
	}
	if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool {
		return (portName != "" && p.Name == portName) || (portName == "" && p.Port == port)
	}) {
		want := portName
		if want == "" {
			want = strconv.Itoa(int(port))
		}
		t.Errorf("%s: Service %s has no port %s", what, name, want)
	}
	return svc
}

// hostPort splits a URL's host and port (a URL without a port is refused:
// every address in the manifests names its port).
func hostPort(t *testing.T, what, raw string) (string, int32) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return "", 0
	}
	host, port, err := net.SplitHostPort(u.Host)
	n, perr := strconv.ParseInt(port, 10, 32)
	if err != nil || perr != nil {
		t.Errorf("%s: %q: want host:port", what, raw)
	}
	return host, int32(n)
}

// composeRedisImage is docker-compose.yml's services.redis.image.
func composeRedisImage(t *testing.T, compose []byte) string {
	t.Helper()
	var f struct {
		Services map[string]struct {
			Image string `yaml:"image"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(compose, &f); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	img := f.Services["redis"].Image
	if img == "" {
		t.Fatal("docker-compose.yml: no image for service redis")
	}
	return img
}

// commandFlags are the flag names that the stickylab command's source (the
// non-test files of the main package in dir) declares on a FlagSet named
// fs: fs.String("listen", ...), fs.Var(v, "store", ...), boolVar(fs, "cas", ...).
func commandFlags(t *testing.T, dir string) map[string]bool {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	flags := map[string]bool{}
	fset := token.NewFileSet()
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || !onFlagSet(call) {
				return true
			}
			for _, a := range call.Args {
				if lit, ok := a.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil {
						flags[s] = true
					}
					break
				}
			}
			return true
		})
	}
	for _, want := range []string{"listen", "store", "redis-url", "session-key", "targets", "cookie-key", "sticky"} {
		if !flags[want] {
			t.Fatalf("the flags found in the command's source, %v, lack -%s: the parser of commandFlags is out of date",
				slices.Sorted(maps.Keys(flags)), want)
		}
	}
	return flags
}

// onFlagSet: fs.X(...) or f(fs, ...).
func onFlagSet(call *ast.CallExpr) bool {
	if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
		if id, ok := sel.X.(*ast.Ident); ok && id.Name == "fs" {
			return true
		}
	}
	if len(call.Args) > 0 {
		if id, ok := call.Args[0].(*ast.Ident); ok && id.Name == "fs" {
			return true
		}
	}
	return false
}
