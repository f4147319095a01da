# scripts/benchlib.sh: what bench-lb.sh and bench-app.sh share, sourced by
# both from the repository's root. It makes the run's work directory
# ($work), keeps the PIDs of what the script starts (pids+=...) and stops
# them, and removes $work, however the script ends.

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port: a port of 127.0.0.1 that nothing listens on now.
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
	done
}

# wait_port PORT PID: until something listens there (10 s at most); fails
# when PID has exited (a port taken meanwhile) or time is up.
wait_port() {
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# cpu_ticks PID: utime+stime of the process, in clock ticks.
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
