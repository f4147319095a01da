package lab

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"

	"stickylab/internal/jsonhttp"
	"stickylab/lb"
)

// MaxLBNodes is the most balancer nodes the demo runs (-lb-nodes).
const MaxLBNodes = 3

// nodesScript is the dashboard's panel of the balancer nodes, from
// GET /api/nodes (lb.Config.DashboardScript, after dashboardScript).
//
//go:embed web/nodes.js
var nodesScript string

// lbNode is one of the demo's balancer nodes: ALB is a fleet of nodes that
// share nothing but their configuration and cookie keys, each with its own
// health checks.
type lbNode struct {
	name    string // lb-1 …
	ln      net.Listener
	bal     demoBalancer
	targets func() []lb.TargetStatus // as this node's health checks see them
}

// NodeView is a node as GET /api/nodes lists it.
type NodeView struct {
	Name    string            `json:"name"`
	Listen  string            `json:"listen"`
	Targets []lb.TargetStatus `json:"targets"` // this node's view
}

// nodeList answers GET /api/nodes. Its nodes are set before the balancers
// serve, and never change.
type nodeList struct{ nodes []*lbNode }

func (l *nodeList) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/nodes", func(w http.ResponseWriter, r *http.Request) {
		out := make([]NodeView, len(l.nodes))
		for i, n := range l.nodes {
			out[i] = NodeView{Name: n.name, Listen: n.ln.Addr().String(), Targets: n.targets()}
		}
		jsonhttp.Write(w, http.StatusOK, out)
	})
}

// awaitNodes waits until every node has every named target healthy, each
// by its own health checks.
func awaitNodes(ctx context.Context, nodes []*lbNode, names []string) error {
	for _, n := range nodes {
		if err := awaitTargetsOf(ctx, n.targets, names...); err != nil {
			return fmt.Errorf("%s: %w", n.name, err)
		}
	}
	return nil
}

// listenNodes returns n-1 more listeners on first's host, on the next free
// ports after first's (up to 100 ports further): the other nodes'.
func listenNodes(first net.Listener, n int) ([]net.Listener, error) {
	a, ok := first.Addr().(*net.TCPAddr)
	if !ok {
		return nil, errors.New("balancer nodes: the first node's listener is not TCP")
	}
	var lns []net.Listener
	for port := a.Port + 1; len(lns) < n-1; port++ {
		if port > 65535 || port > a.Port+100 {
			for _, ln := range lns {
				ln.Close()
			}
			return nil, fmt.Errorf("balancer nodes: no free port for node %d within 100 ports after %d", len(lns)+2, a.Port)
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(a.IP.String(), strconv.Itoa(port)))
		if err == nil {
			lns = append(lns, ln)
		}
	}
	return lns, nil
}
