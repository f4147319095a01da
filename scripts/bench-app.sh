#!/usr/bin/env bash
# scripts/bench-app.sh: what the session store costs the app, in one run on
# this machine: one "stickylab app" per store (memory; redis; redis with the
# cache, -redis-cache) and a local redis-server, loaded by wrk.
#
# Each store serves 16 logged-in users (one session each, with a cart
# item); wrk (-t2, -c$CONNECTIONS) sends each request with one of their
# cookies at random, on two routes:
#   - GET /api/session, which counts a visit: every request changes the
#     session (a load and a write);
#   - GET /api/cart, which only reads it (a load).
# One app process is stickiness at its best: every user always comes back to
# the instance that served them. For each run: requests/s, the app's and
# redis-server's CPU per request (utime+stime from /proc/PID/stat), the
# store's round trips per request (its round_trips_total metric) and the
# commands redis-server ran per request (INFO commandstats, the commands the
# scripts run included).
#
# Targets, each the median over the rounds of the same-round ratio:
#   - redis with the cache serves at least 0.6x memory's requests/s on
#     GET /api/session;
#   - at least 0.9x on GET /api/cart.
#
# Usage: scripts/bench-app.sh [-d SECONDS] [-c CONNECTIONS] [-r ROUNDS]
#   env BENCH_DURATION (default 10), BENCH_CONNECTIONS (default 16),
#   BENCH_ROUNDS (default 1; each round runs every store on both routes, in
#   turns), BENCH_ENFORCE=1 exits 1 when a target is missed.
# Everything binds to 127.0.0.1; every process started is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${BENCH_DURATION:-10}
conns=${BENCH_CONNECTIONS:-16}
rounds=${BENCH_ROUNDS:-1}
while getopts "d:c:r:h" opt; do
	case $opt in
	d) duration=$OPTARG ;;
	c) conns=$OPTARG ;;
	r) rounds=$OPTARG ;;
	*) sed -n '2,/^# Everything binds/p' "$0"; exit 2 ;;
	esac
done
case $duration in '' | *[!0-9]*) echo "bench-app: -d wants whole seconds, got '$duration'" >&2; exit 2 ;; esac
case $conns in '' | 0 | *[!0-9]*) echo "bench-app: -c wants a number from 1, got '$conns'" >&2; exit 2 ;; esac
case $rounds in '' | 0 | *[!0-9]*) echo "bench-app: -r wants a number of rounds from 1, got '$rounds'" >&2; exit 2 ;; esac

for tool in wrk redis-server redis-cli go curl; do
	command -v "$tool" >/dev/null || { echo "bench-app: $tool is missing (apt-get install wrk redis-server redis-tools curl)" >&2; exit 1; }
done

. scripts/benchlib.sh # $work, pids, free_port, wait_port, cpu_ticks

echo "== building" >&2
go build -o "$work/stickylab" .

rport=$(free_port)
redis-server --bind 127.0.0.1 --port "$rport" --save "" --appendonly no --dir "$work" --logfile "$work/redis.log" &
pids+=($!)
redis_pid=$!
wait_port "$rport" "$redis_pid" || { echo "bench-app: redis-server did not start:" >&2; cat "$work/redis.log" >&2; exit 1; }
rcli() { redis-cli -p "$rport" "$@"; }

# redis_commands: the commands redis-server ran, from INFO commandstats,
# without the ones this script and the cache's heartbeat send.
redis_commands() {
	rcli info commandstats | tr -d '\r' | awk -F'[:=,]' '
		/^cmdstat_/ && $1 !~ /^cmdstat_(info|config|ping|hello|client|select|flushall|dbsize)/ { n += $3 }
		END { print n + 0 }'
}

# round_trips PORT: the app's stickylab_sessionstore_round_trips_total.
round_trips() {
	curl -s "http://127.0.0.1:$1/metrics" | awk '/^stickylab_sessionstore_round_trips_total/ { n += $2 } END { printf "%d\n", n }'
}

results="$work/results"
: >"$results"
clk=$(getconf CLK_TCK)
key=bench-app-session-key-0123456789abcdef

# serve STORE: starts an app on STORE (memory, redis, redis+cache), logs in
# $conns users with a cart item each, and writes the wrk script that sends
# their cookies. Sets app_port and app_pid.
serve() {
	local store=$1 args=()
	case $store in
	memory) args=(-store memory) ;;
	redis) args=(-store redis -redis-cache=false) ;;
	redis+cache) args=(-store redis -redis-cache=true) ;;
	esac
	rcli flushall >/dev/null
	local attempt
	for attempt in 1 2 3; do
		app_port=$(free_port)
		"$work/stickylab" app -listen "127.0.0.1:$app_port" -name bench -session-key "$key" \
			-redis-url "redis://127.0.0.1:$rport/0" "${args[@]}" >"$work/app.log" 2>&1 &
		app_pid=$!
		pids+=($app_pid)
		wait_port "$app_port" "$app_pid" && break
		# Another process took the free port meanwhile: try another.
		[ "$attempt" = 3 ] && { echo "bench-app: the app did not start:" >&2; cat "$work/app.log" >&2; exit 1; }
	done
	local cookies=() i jar
	for i in $(seq "$conns"); do
		jar="$work/jar$i"
		rm -f "$jar"
		curl -sf -c "$jar" -b "$jar" -H 'Content-Type: application/json' -d "{\"username\":\"user$i\"}" "http://127.0.0.1:$app_port/api/login" >/dev/null
		curl -sf -c "$jar" -b "$jar" -H 'Content-Type: application/json' -d '{"item":"tea"}' "http://127.0.0.1:$app_port/api/cart" >/dev/null
		cookies+=("\"$(awk '$6 == "stickylab_session" { print $7 }' "$jar")\"")
	done
	cat >"$work/users.lua" <<LUA
local cookies = {$(IFS=,; echo "${cookies[*]}")}
math.randomseed(os.time())
request = function()
	return wrk.format("GET", nil, { ["Cookie"] = "stickylab_session=" .. cookies[math.random(#cookies)] })
end
LUA
}

# stop_app: stops the app serve started.
stop_app() {
	kill "$app_pid" 2>/dev/null || true
	wait "$app_pid" 2>/dev/null || true
}

# bench STORE ROUTE: a warm-up second, then the measured run.
bench() {
	local store=$1 route=$2 url="http://127.0.0.1:$app_port$2" out abefore aafter rbefore rafter cbefore cafter tbefore tafter
	timeout 20 wrk -t2 -c"$conns" -d1s -s "$work/users.lua" "$url" >/dev/null
	abefore=$(cpu_ticks "$app_pid") rbefore=$(cpu_ticks "$redis_pid")
	cbefore=$(redis_commands) tbefore=$(round_trips "$app_port")
	out=$(timeout $((duration + 30)) wrk -t2 -c"$conns" -d"${duration}s" -s "$work/users.lua" "$url")
	aafter=$(cpu_ticks "$app_pid") rafter=$(cpu_ticks "$redis_pid")
	cafter=$(redis_commands) tafter=$(round_trips "$app_port")
	if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
		echo "bench-app: $store $route had errors:" >&2
		grep "Non-2xx\|Socket errors" <<<"$out" >&2
		exit 1
	fi
	awk -v store="$store" -v route="$route" -v round="$round" -v clk="$clk" \
		-v aticks=$((aafter - abefore)) -v rticks=$((rafter - rbefore)) \
		-v cmds=$((cafter - cbefore)) -v trips=$((tafter - tbefore)) '
		/requests in/ { n = $1 }
		/Requests\/sec/ { rps = $2 }
		END {
			if (n == 0) n = 1
			printf "%s %s %.0f %.0f %.0f %.2f %.2f %d\n", store, route, rps, aticks * 1e6 / clk / n, rticks * 1e6 / clk / n, trips / n, cmds / n, round
		}' <<<"$out" >>"$results"
	echo "   $store $route done" >&2
}

stores=(memory redis redis+cache)
for round in $(seq "$rounds"); do
	echo "== round $round of $rounds" >&2
	# Turns: each round starts with another store, so that none always
	# runs first on a machine that warms up or gets busier.
	for k in 0 1 2; do
		store=${stores[$(((round - 1 + k) % 3))]}
		serve "$store"
		bench "$store" /api/session
		bench "$store" /api/cart
		stop_app
	done
done

echo
echo "stickylab app, $conns connections (wrk -t2), ${duration}s per run, $rounds round(s); $(nproc) CPUs, $(uname -sr); redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')"
echo
echo "| store | route | requests/s | x memory | app CPU/request | Redis CPU/request | round trips/request | Redis commands/request |"
echo "|---|---|---|---|---|---|---|---|"
verdict=0
for route in /api/session /api/cart; do
	for store in "${stores[@]}"; do
		# The medians over the rounds, and the median of the same-round
		# ratios to memory.
		awk -v store="$store" -v route="$route" '
			function median(a, n,    i, j, t) {
				for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
				return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
			}
			$1 == "memory" && $2 == route { mem[$8] = $3 }
			$1 == store && $2 == route { k++; rps[k] = $3; acpu[k] = $4; rcpu[k] = $5; trips[k] = $6; cmds[k] = $7; rnd[k] = $8 }
			END {
				for (i = 1; i <= k; i++) ratio[i] = rps[i] / mem[rnd[i]]
				rc = median(rcpu, k)
				printf "| %s | `GET %s` | %.0f | %.2fx | %.0f µs | %s | %.2f | %.2f |\n", store, route, median(rps, k), median(ratio, k), median(acpu, k), (store == "memory" ? "–" : sprintf("%.0f µs", rc)), median(trips, k), median(cmds, k)
			}' "$results"
	done
done
ratio() {
	awk -v route="$1" '
		function median(a, n,    i, j, t) {
			for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
			return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
		}
		$1 == "memory" && $2 == route { mem[$8] = $3 }
		$1 == "redis+cache" && $2 == route { k++; r[k] = $3; rnd[k] = $8 }
		END { for (i = 1; i <= k; i++) x[i] = r[i] / mem[rnd[i]]; printf "%.2f\n", median(x, k) }' "$results"
}
echo
for t in "/api/session 0.6" "/api/cart 0.9"; do
	set -- $t
	got=$(ratio "$1")
	if awk -v g="$got" -v w="$2" 'BEGIN { exit !(g >= w) }'; then
		echo "target met: redis+cache on GET $1 serves ${got}x memory's requests/s (at least $2x)"
	else
		echo "target missed: redis+cache on GET $1 serves ${got}x memory's requests/s (at least $2x)"
		verdict=1
	fi
done
if [ "${BENCH_ENFORCE:-0}" = 1 ]; then exit "$verdict"; fi
