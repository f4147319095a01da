#!/usr/bin/env bash
# scripts/ci.sh: what CI runs on a fresh Debian machine with Go and Docker.
# It installs the tests' optional dependencies, makes each of them mandatory
# (STICKYLAB_REQUIRE) so that no test can skip silently, and runs the same
# test command as the README, with the race detector, after go vet and gofmt.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v curl >/dev/null || need+=(curl ca-certificates)
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-cli >/dev/null || need+=(redis-tools) # the Cluster tests join their nodes with it
command -v chromium >/dev/null || need+=(chromium)
command -v wrk >/dev/null || need+=(wrk)
command -v haproxy >/dev/null || need+=(haproxy)
command -v caddy >/dev/null || need+=(caddy) # bench-lb.sh compares the std engine with Caddy
if [ ${#need[@]} -gt 0 ]; then
	echo "== installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

export STICKYLAB_REQUIRE="${STICKYLAB_REQUIRE:-redis,chromium,docker,curl}"

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

# go run . is for Linux, macOS and Windows learners alike: every package,
# tests included, must build and vet on each (built here, not run).
for target in linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64; do
	echo "== go build and go vet for $target"
	GOOS=${target%/*} GOARCH=${target#*/} go build ./...
	GOOS=${target%/*} GOARCH=${target#*/} go vet ./...
done

echo "== go test -race (STICKYLAB_REQUIRE=$STICKYLAB_REQUIRE)"
go test -race -count=1 -timeout 20m ./...

echo "== benchmarks (one short pass, to prove they run)"
go test -run '^$' -bench . -benchtime 50x -benchmem ./...

echo "== scripts/bench-lb.sh (one short round, to prove it runs; the target is judged on a quiet machine, see the README)"
scripts/bench-lb.sh -d 1

echo "== scripts/bench-app.sh (one short round, to prove it runs; the targets are judged on a quiet machine, see docs/performance.md)"
scripts/bench-app.sh -d 1

echo "== ci.sh: all checks passed"
