package deploy_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// The overlays of deploy/k8s and what each must hold: the store of every
// app instance and what is in front of them. A new overlay must be added
// here, so that none goes unchecked.
var overlays = map[string]struct {
	store string // STICKYLAB_STORE of every app container
	front string // "lb" (the lab's balancer), or an Ingress class
}{
	"memory":        {store: "memory", front: "lb"},
	"redis":         {store: "redis", front: "lb"},
	"ingress-nginx": {store: "memory", front: "nginx"},
	"alb":           {store: "memory", front: "alb"},
}

// built is one overlay after kustomize, each object decoded strictly into
// its Kubernetes API type.
type built struct {
	deployments  []*appsv1.Deployment
	statefulSets []*appsv1.StatefulSet
	services     []*corev1.Service
	secrets      []*corev1.Secret
	ingresses    []*networkingv1.Ingress
}

// strictDecoder decodes YAML into the API types of the kinds deploy/k8s
// uses, failing on an unknown field, a duplicate field or an unknown kind:
// what the API server's strict field validation (kubectl's default) refuses.
func strictDecoder() runtime.Decoder {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, networkingv1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err) // the API packages' own registration; cannot fail
		}
	}
	return kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme,
		kjson.SerializerOptions{Yaml: true, Strict: true})
}

// buildOverlay runs kustomize (the code of `kubectl apply -k`) on the overlay
// and decodes every object it makes.
func buildOverlay(t *testing.T, dec runtime.Decoder, dir string) built {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resources, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var b built
	for _, r := range resources.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatalf("%s: as YAML: %v", r.CurId(), err)
		}
		obj, _, err := dec.Decode(y, nil, nil)
		if err != nil {
			t.Errorf("%s: strict decoding: %v\n%s", r.CurId(), err, y)
			continue
		}
		switch o := obj.(type) {
		case *appsv1.Deployment:
			b.deployments = append(b.deployments, o)
		case *appsv1.StatefulSet:
			b.statefulSets = append(b.statefulSets, o)
		case *corev1.Service:
			b.services = append(b.services, o)
		case *corev1.Secret:
			b.secrets = append(b.secrets, o)
		case *networkingv1.Ingress:
			b.ingresses = append(b.ingresses, o)
		default:
			t.Errorf("%s: a %T, which no check here looks at", r.CurId(), obj)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return b
}

// TestStrictDecoderRefusesUnknownFields shows that the decoder of
// TestKustomizeOverlays can fail: a misspelt field, a duplicate one and a
// kind it does not know are refused, and the correct object is accepted.
func TestStrictDecoderRefusesUnknownFields(t *testing.T) {
	dec := strictDecoder()
	const good = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replicas: 3\n"
	if _, _, err := dec.Decode([]byte(good), nil, nil); err != nil {
		t.Fatalf("a correct Deployment: %v", err)
	}
	for name, doc := range map[string]string{
		"misspelt field":  "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replica: 3\n",
		"misplaced field": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n  replicas: 3\n",
		"duplicate field": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replicas: 3\n  replicas: 2\n",
		"unknown kind":    "apiVersion: apps/v1\nkind: Deploymnet\nmetadata:\n  name: x\n",
	} {
		if _, _, err := dec.Decode([]byte(doc), nil, nil); err == nil {
			t.Errorf("%s: decoded without an error:\n%s", name, doc)
		}
	}
}

// TestKustomizeOverlays builds every overlay of deploy/k8s with kustomize's
// Go API, decodes every object strictly into the Kubernetes API types, and
// checks what a cluster would only show at run time: probes on the app's
// /healthz and /readyz, non-root read-only containers, pinned images, keys
// from the Secret, Services that select pods, the balancer's targets, the
// Redis volume and the ingress controllers' stickiness.
func TestKustomizeOverlays(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("k8s", "overlays"))
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, e := range entries {
		if e.IsDir() {
			found = append(found, e.Name())
		}
	}
	var want []string
	for name := range overlays {
		want = append(want, name)
	}
	slices.Sort(want)
	if !slices.Equal(found, want) {
		t.Fatalf("deploy/k8s/overlays holds %v; the test knows %v (add a new overlay to overlays)", found, want)
	}

	env := loadDeployEnv(t)
	dec := strictDecoder()
	for _, name := range found {
		t.Run(name, func(t *testing.T) {
			b := buildOverlay(t, dec, filepath.Join("k8s", "overlays", name))
			o := overlays[name]
			checkWorkloads(t, env, b)
			checkServices(t, b)
			checkApp(t, b, o.store)
			if o.store == "redis" {
				checkRedis(t, env, b)
			} else if len(b.statefulSets) > 0 {
				t.Errorf("store %s: %d StatefulSets, want none (no Redis)", o.store, len(b.statefulSets))
			}
			switch o.front {
			case "lb":
				checkBalancer(t, b)
			case "nginx":
				checkNginxIngress(t, b)
			case "alb":
				checkALBIngress(t, b)
			}
		})
	}
}

// deployEnv is what the manifests must agree with elsewhere in the
// repository.
type deployEnv struct {
	uid        int64           // deploy/Dockerfile's USER
	redisImage string          // docker-compose.yml's redis image
	flags      map[string]bool // the stickylab command's flag names
}

func loadDeployEnv(t *testing.T) deployEnv {
	t.Helper()
	dockerfile, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	compose, err := os.ReadFile(filepath.Join("..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	return deployEnv{
		uid:        dockerfileUser(t, dockerfile),
		redisImage: composeRedisImage(t, compose),
		flags:      commandFlags(t, ".."),
	}
}

// dockerfileUser is the numeric user of the Dockerfile's last USER line.
func dockerfileUser(t *testing.T, dockerfile []byte) int64 {
	t.Helper()
	var user string
	for line := range bytes.Lines(dockerfile) {
		f := bytes.Fields(line)
		if len(f) == 2 && string(f[0]) == "USER" {
			user = string(f[1])
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	n, err := strconv.ParseInt(uid, 10, 64)
	if err != nil || n <= 0 {
		t.Fatalf("deploy/Dockerfile: USER %q: want a numeric user: %v", user, err)
	}
	return n
}
