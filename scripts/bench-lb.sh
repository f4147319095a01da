#!/usr/bin/env bash
# scripts/bench-lb.sh: the balancer's two engines against Caddy and HAProxy,
# in one run on this machine.
#
# Three trivial backends (scripts/benchbackend); wrk (Debian) loads, one after
# the other: a backend directly; Caddy (Debian's caddy, "lb_policy cookie");
# HAProxy ("cookie SRV insert indirect nocache"); "stickylab lb" on the std
# engine (net/http) in duration mode, then with 100 idle /api/events
# subscribers (connected, never reading), then in none and app mode; and on
# the fast engine in duration mode. Caddy and HAProxy add the request headers
# lb adds as ALB does (X-Forwarded-For, -Proto, -Port and a trace id), so that
# the backends do about the same work behind all of them. Sticky runs send
# the cookies a first response set, as a browser would. For each proxy the
# CPU time it spent (utime+stime from /proc/PID/stat) is divided by the
# requests wrk completed; so is that of the three backends together and of
# wrk, because on a machine this small what a proxy makes the others spend
# per request weighs on its requests/s as much as its own CPU does.
#
# Targets, each pair run back to back in turns first, each verdict the median
# of the rounds' ratios:
#   - std (duration) spends at most Caddy's CPU per request and serves at
#     least its requests/s;
#   - fast (duration) spends at most 1.5x HAProxy's CPU per request and
#     serves at least 0.8x its requests/s;
#   - with 100 idle event subscribers, std serves at least 0.9x the
#     requests/s it serves with none.
#
# Usage: scripts/bench-lb.sh [-d SECONDS] [-c CONNECTIONS] [-r ROUNDS]
#   env BENCH_DURATION (default 10), BENCH_CONNECTIONS (default 32),
#   BENCH_ROUNDS (default 1; on a busy machine 3 or 5: each round runs every
#   target once, the table shows the medians of the rounds),
#   BENCH_ENFORCE=1 exits 1 when a target is missed.
# Everything binds to 127.0.0.1; every process started is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${BENCH_DURATION:-10}
conns=${BENCH_CONNECTIONS:-32}
rounds=${BENCH_ROUNDS:-1}
while getopts "d:c:r:h" opt; do
	case $opt in
	d) duration=$OPTARG ;;
	c) conns=$OPTARG ;;
	r) rounds=$OPTARG ;;
	*) sed -n '2,/^# Everything binds/p' "$0"; exit 2 ;;
	esac
done
case $duration in '' | *[!0-9]*) echo "bench-lb: -d wants whole seconds, got '$duration'" >&2; exit 2 ;; esac
case $conns in '' | *[!0-9]*) echo "bench-lb: -c wants a number, got '$conns'" >&2; exit 2 ;; esac
case $rounds in '' | 0 | *[!0-9]*) echo "bench-lb: -r wants a number of rounds from 1, got '$rounds'" >&2; exit 2 ;; esac

for tool in wrk haproxy caddy go curl; do
	command -v "$tool" >/dev/null || { echo "bench-lb: $tool is missing (apt-get install wrk haproxy caddy curl)" >&2; exit 1; }
done

. scripts/benchlib.sh # $work, pids, free_port, wait_port, cpu_ticks

# wait_line FILE PATTERN: prints the first line of FILE matching PATTERN,
# waiting for it up to 10 s.
wait_line() {
	local line
	for _ in $(seq 100); do
		line=$(grep -m1 -e "$2" "$1" 2>/dev/null || true)
		[ -n "$line" ] && { echo "$line"; return 0; }
		sleep 0.1
	done
	echo "bench-lb: no '$2' in $1:" >&2
	cat "$1" >&2
	exit 1
}

# backend_ticks: cpu_ticks of the three backends together.
backend_ticks() {
	local s=0 p
	for p in "${backend_pids[@]}"; do s=$((s + $(cpu_ticks "$p"))); done
	echo "$s"
}

# children_ms FILE: the CPU time of this shell's finished children (wrk) in
# FILE, the output of times, in ms. (times must run in this shell, not in a
# command substitution's subshell.)
children_ms() {
	awk 'NR == 2 {
		t = 0
		for (i = 1; i <= 2; i++) { split($i, a, "m"); t += a[1] * 60000 + a[2] * 1000 }
		printf "%d\n", t
	}' "$1"
}

echo "== building" >&2
go build -o "$work/stickylab" .
go build -o "$work/benchbackend" ./scripts/benchbackend

backend_ports=()
backend_pids=()
for i in 1 2 3; do
	"$work/benchbackend" -name "b$i" >"$work/backend$i.addr" &
	pids+=($!)
	backend_pids+=($!)
	addr=$(wait_line "$work/backend$i.addr" "127.0.0.1:")
	backend_ports+=("${addr##*:}")
done

results="$work/results"
: >"$results"
clk=$(getconf CLK_TCK)

# bench NAME URL PID COOKIE: a warm-up second, then the measured run.
bench() {
	local name=$1 url=$2 pid=$3 cookie=$4 hdr=() out before after bbefore bafter wbefore wafter
	[ -n "$cookie" ] && hdr=(-H "Cookie: $cookie")
	timeout 20 wrk -t1 -c"$conns" -d1s "${hdr[@]}" "$url" >/dev/null
	before=0
	[ "$pid" != - ] && before=$(cpu_ticks "$pid")
	bbefore=$(backend_ticks)
	times >"$work/times.before"
	out=$(timeout $((duration + 30)) wrk -t1 -c"$conns" -d"${duration}s" --latency "${hdr[@]}" "$url")
	after=0
	[ "$pid" != - ] && after=$(cpu_ticks "$pid")
	bafter=$(backend_ticks)
	times >"$work/times.after"
	wbefore=$(children_ms "$work/times.before") wafter=$(children_ms "$work/times.after")
	if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
		echo "bench-lb: $name had errors:" >&2
		grep "Non-2xx\|Socket errors" <<<"$out" >&2
	fi
	awk -v name="$name" -v round="$round" -v ticks=$((after - before)) -v clk="$clk" -v proxy="$pid" \
		-v bticks=$((bafter - bbefore)) -v wms=$((wafter - wbefore)) '
		function us(v) {
			if (v ~ /us$/) return v + 0
			if (v ~ /ms$/) return v * 1000
			if (v ~ /s$/) return v * 1000000
			return v + 0
		}
		/requests in/ { n = $1 }
		/Requests\/sec/ { rps = $2 }
		$1 == "50%" { p50 = us($2) }
		$1 == "99%" { p99 = us($2) }
		END {
			cpu = (proxy == "-" || n == 0) ? -1 : ticks * 1e6 / clk / n
			bcpu = n == 0 ? -1 : bticks * 1e6 / clk / n
			wcpu = n == 0 ? -1 : wms * 1000 / n
			printf "%s %d %.0f %.0f %.0f %.1f %.1f %.1f %d\n", name, n, rps, p50, p99, cpu, bcpu, wcpu, round
		}' <<<"$out" >>"$results"
	echo "   $name done" >&2
}

# run_peer NAME [ATTEMPT]: the peer proxy NAME (haproxy or caddy) in front
# of the backends, sending the sticky cookie its first response set. NAME_exec
# PORT writes its configuration and becomes it; another port is tried when
# the one probed was taken before the proxy bound it.
run_peer() {
	local name=$1 attempt=${2:-1} port pid cookie
	port=$(free_port)
	"${name}_exec" "$port" 2>"$work/$name.log" &
	pid=$!
	pids+=("$pid")
	if ! wait_port "$port" "$pid"; then
		kill "$pid" 2>/dev/null || true
		if [ "$attempt" -ge 3 ]; then
			echo "bench-lb: $name did not start:" >&2
			cat "$work/$name.log" >&2
			exit 1
		fi
		run_peer "$name" $((attempt + 1))
		return
	fi
	cookie=$(curl -si "http://127.0.0.1:$port/" | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p' | head -1)
	[ -n "$cookie" ] || { echo "bench-lb: $name set no cookie" >&2; exit 1; }
	bench "$name" "http://127.0.0.1:$port/" "$pid" "$cookie"
	kill "$pid"
}

# haproxy_exec PORT: HAProxy on PORT with its sticky cookie.
haproxy_exec() {
	cat >"$work/haproxy.cfg" <<CFG
global
	maxconn 4096
defaults
	mode http
	timeout connect 5s
	timeout client 30s
	timeout server 30s
	option http-keep-alive
	option forwardfor
frontend fe
	bind 127.0.0.1:$1
	# The headers ALB adds, as lb does (option forwardfor is the fourth),
	# so that the backends parse the same requests behind both proxies.
	http-request set-header X-Forwarded-Proto http
	http-request set-header X-Forwarded-Port %[dst_port]
	http-request set-header X-Amzn-Trace-Id "Root=1-%{+X}o%Ts-%[rand,hex]%[rand,hex]" unless { req.hdr(X-Amzn-Trace-Id) -m found }
	default_backend be
backend be
	balance roundrobin
	cookie SRV insert indirect nocache
	server b1 127.0.0.1:${backend_ports[0]} cookie b1
	server b2 127.0.0.1:${backend_ports[1]} cookie b2
	server b3 127.0.0.1:${backend_ports[2]} cookie b3
CFG
	exec haproxy -db -f "$work/haproxy.cfg"
}

# caddy_exec PORT: Caddy on PORT with its sticky cookie. Caddy adds
# X-Forwarded-For, -Proto and -Host by itself.
caddy_exec() {
	cat >"$work/Caddyfile" <<CFG
{
	admin off
	auto_https off
}
http://127.0.0.1:$1 {
	reverse_proxy 127.0.0.1:${backend_ports[0]} 127.0.0.1:${backend_ports[1]} 127.0.0.1:${backend_ports[2]} {
		lb_policy cookie lb
		header_up X-Forwarded-Port {http.request.port}
		header_up X-Amzn-Trace-Id "Root=1-{time.now.unix}-{http.request.uuid}"
	}
}
CFG
	XDG_DATA_HOME="$work" XDG_CONFIG_HOME="$work" exec caddy run --config "$work/Caddyfile" --adapter caddyfile
}

# run_lb ENGINE MODE [SUBSCRIBERS]: stickylab lb on ENGINE in front of the
# backends, sending the cookies its first response set (app: the backend's
# /login sets sid); with SUBSCRIBERS idle /api/events subscribers that never
# read.
run_lb() {
	local engine=$1 mode=$2 subs=${3:-0} name lb_pid line lp ap path cookie subs_pid=
	name="$engine-$mode"
	[ "$subs" -gt 0 ] && name="$name-sse"
	"$work/stickylab" lb -engine "$engine" -listen 127.0.0.1:0 -admin 127.0.0.1:0 -targets "$targets" \
		-sticky "$mode" -app-cookie sid 2>"$work/lb-$name.log" &
	lb_pid=$!
	pids+=("$lb_pid")
	line=$(wait_line "$work/lb-$name.log" 'msg="lb: serving"')
	lp=$(sed 's/.* listen=127.0.0.1:\([0-9]*\) .*/\1/' <<<"$line")
	ap=$(sed 's/.* admin=127.0.0.1:\([0-9]*\).*/\1/' <<<"$line")
	if [ "$subs" -gt 0 ]; then
		# A process of their own holds the streams, so that wrk does not
		# inherit their descriptors (its event loop only takes low ones).
		(
			for ((i = 0; i < subs; i++)); do
				exec {fd}<>"/dev/tcp/127.0.0.1/$ap"
				printf 'GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' >&"$fd"
			done
			exec sleep 3600
		) &
		subs_pid=$!
		pids+=("$subs_pid")
		for _ in $(seq 100); do
			[ "$(curl -s "http://127.0.0.1:$ap/metrics" | awk '$1 == "stickylab_lb_event_streams" { print $2 }')" = "$subs" ] && break
			sleep 0.1
		done
	fi
	path=/
	[ "$mode" = app ] && path=/login
	cookie=$(curl -si "http://127.0.0.1:$lp$path" | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p' |
		{ grep -v _remove_ || true; } | paste -sd';' | sed 's/;/; /g')
	if [ "$mode" != none ] && [ -z "$cookie" ]; then echo "bench-lb: lb -sticky $mode set no cookie" >&2; exit 1; fi
	bench "$name" "http://127.0.0.1:$lp/" "$lb_pid" "$cookie"
	[ -n "$subs_pid" ] && kill "$subs_pid"
	kill "$lb_pid"
}

targets="b1=http://127.0.0.1:${backend_ports[0]},b2=http://127.0.0.1:${backend_ports[1]},b3=http://127.0.0.1:${backend_ports[2]}"
# Each compared pair runs back to back, in turns first: the machine's speed
# drifts over seconds, and each round's ratio is taken within the round.
for round in $(seq "$rounds"); do
	echo "== round $round of $rounds" >&2
	bench direct "http://127.0.0.1:${backend_ports[0]}/" - ""
	if [ $((round % 2)) = 1 ]; then
		run_peer caddy
		run_lb std duration
		run_peer haproxy
		run_lb fast duration
	else
		run_lb std duration
		run_peer caddy
		run_lb fast duration
		run_peer haproxy
	fi
	run_lb std duration 100
	run_lb std none
	run_lb std app
done

# median NAME COLUMN: the median over the rounds of one column of one target.
median() {
	awk -v name="$1" -v col="$2" '$1 == name { print $col }' "$results" | sort -n |
		awk '{ v[NR] = $1 } END { if (NR == 0) print -1; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

latency() { awk -v v="$1" 'BEGIN { if (v >= 1000) printf "%.2fms", v / 1000; else printf "%.0fus", v }'; }

echo
echo "wrk -t1 -c$conns, ${duration}s per run, $rounds round(s) (medians), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-12s %10s %10s %10s %10s %14s %14s %14s\n" target requests "req/s" p50 p99 "CPU us/req" "backends us" "wrk us"
for name in direct caddy haproxy std-duration std-duration-sse std-none std-app fast-duration; do
	n=$(median "$name" 2) rps=$(median "$name" 3) p50=$(median "$name" 4) p99=$(median "$name" 5) cpu=$(median "$name" 6)
	bcpu=$(median "$name" 7) wcpu=$(median "$name" 8)
	cpu_text=$cpu
	[ "$name" = direct ] && cpu_text=-
	printf "%-12s %10s %10s %10s %10s %14s %14s %14s\n" "$name" "$n" "$rps" "$(latency "$p50")" "$(latency "$p99")" "$cpu_text" "$bcpu" "$wcpu"
done

# The verdicts: each round's ratios within a pair, and their medians.
# verdict LABEL A B CPU_MAX RPS_MIN: A against B, CPU per request at most
# CPU_MAX times B's (0: not judged) and requests/s at least RPS_MIN times.
verdict() {
	awk -v label="$1" -v a="$2" -v b="$3" -v cmax="$4" -v rmin="$5" '
	function median(v, n,   i, j, t) {
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
		return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	}
	$1 == b { brps[$9] = $3; bcpu[$9] = $6 }
	$1 == a { arps[$9] = $3; acpu[$9] = $6 }
	$9 > last { last = $9 }
	END {
		n = 0
		for (r = 1; r <= last; r++) if ((r in brps) && (r in arps)) {
			n++; cr[n] = acpu[r] / bcpu[r]; rr[n] = arps[r] / brps[r]
			per = per sprintf(" %.2fx/%.2fx", cr[n], rr[n])
		}
		if (n == 0) { print "bench-lb: no round measured both " a " and " b > "/dev/stderr"; exit 3 }
		c = median(cr, n); q = median(rr, n)
		ok = (cmax == 0 || c <= cmax) && q >= rmin
		printf "\n%s: %s vs %s, CPU/req and req/s by round:%s\n", label, a, b, per
		if (cmax == 0)
			printf "median: %.2fx the requests/s (target >= %.1fx): %s\n", q, rmin, ok ? "target met" : "target MISSED"
		else
			printf "median: %.2fx the CPU per request (target <= %.1fx), %.2fx the requests/s (target >= %.1fx): %s\n", c, cmax, q, rmin, ok ? "target met" : "target MISSED"
		exit ok ? 0 : 3
	}' "$results"
}

missed=0
verdict "std engine" std-duration caddy 1.0 1.0 || missed=1
verdict "fast engine" fast-duration haproxy 1.5 0.8 || missed=1
verdict "event subscribers" std-duration-sse std-duration 0 0.9 || missed=1
if [ "$missed" = 1 ] && [ "${BENCH_ENFORCE:-0}" = 1 ]; then exit 1; fi
