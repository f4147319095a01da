// Command benchbackend is the trivial target of scripts/bench-lb.sh: it
// answers every request with a short fixed body, and /login also sets the
// application cookie "sid", so that the balancers' own cost is what the
// benchmark measures.
package main

import (
	"flag"
	"log"
	"net/http"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to serve on")
	name := flag.String("name", "backend", "name in the body")
	flag.Parse()
	body := []byte("hello from " + *name + "\n")
	srv := &http.Server{Addr: *listen, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			w.Header().Set("Set-Cookie", "sid="+*name+"; Path=/")
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	})}
	log.Fatal(srv.ListenAndServe())
}
