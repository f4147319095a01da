// Command benchbackend is the trivial target of scripts/bench-lb.sh: it
// answers every request with a short fixed body, and /login also sets the
// application cookie "sid", so that the balancers' own cost is what the
// benchmark measures. It prints the address it listens on.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to serve on")
	name := flag.String("name", "backend", "name in the body")
	flag.Parse()
	body := []byte("hello from " + *name + "\n")
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(l.Addr())
	log.Fatal(http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			w.Header().Set("Set-Cookie", "sid="+*name+"; Path=/")
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	})))
}
