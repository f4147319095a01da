#!/usr/bin/env bash
# scripts/offline-images.sh: local stand-ins for the public images that
# deploy/Dockerfile and docker-compose.yml name, for machines that cannot pull
# images (an air-gapped lab, a CI machine without a registry).
#
# With a working registry you never need this: `docker compose up` pulls the
# real images. Here, the same unchanged files build and run against:
#   - the Go builder (golang:...): the local Go toolchain (go env GOROOT), the
#     modules of go.sum from the local module cache (GOPROXY=off inside, so
#     `go mod download` works without a network), /bin/sh and its libraries;
#   - redis (redis:...): the local redis-server and redis-cli with their shared
#     libraries, /bin/sh, a redis user (999, as in the official image) owning
#     /data.
# Both are made with `docker import` from a tar file: nothing is pulled.
#
# Usage: scripts/offline-images.sh [-f]
#   -f  rebuild the stand-ins even when images with those names exist
#       (it never replaces an image that is not one of its stand-ins)
# Idempotent: an image already present is left alone, except a Go stand-in
# made for another go.sum, which is made again.
set -euo pipefail
cd "$(dirname "$0")/.."

force=0
standins=() # the stand-ins present at the end, for the closing message
case "${1:-}" in
-f) force=1 ;;
"") ;;
-h | --help)
	sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
	exit 0
	;;
*)
	echo "offline-images: unknown argument $1 (usage: $0 [-f])" >&2
	exit 2
	;;
esac

standin_label=org.stickylab.standin
say() { printf 'offline-images: %s\n' "$*"; }
die() {
	printf 'offline-images: %s\n' "$*" >&2
	exit 1
}

command -v docker >/dev/null || die "docker not found"
docker info >/dev/null 2>&1 || die "no Docker engine answers (docker info failed)"

# The names come from the files themselves, so they cannot drift apart.
go_image=$(awk 'toupper($1) == "FROM" && $2 != "scratch" { print $2; exit }' deploy/Dockerfile)
redis_image=$(sed -n 's/^[[:space:]]*image:[[:space:]]*["'\'']\{0,1\}\(redis:[^"'\'' ]*\).*/\1/p' docker-compose.yml | head -n1)
[ -n "$go_image" ] || die "no FROM image found in deploy/Dockerfile"
[ -n "$redis_image" ] || die "no redis image found in docker-compose.yml"

# gosum is the hash of go.sum that the Go stand-in's module cache was made
# for: a stand-in made for another go.sum lacks modules (GOPROXY=off inside)
# and is made again.
gosum_label=org.stickylab.standin.gosum
gosum=$(sha256sum go.sum | cut -c1-64)
# recipe is the version of what this script puts in a stand-in: a stand-in
# made by an older recipe lacks something the files now use (recipe 2: the
# redis stand-in has /bin/sh, which docker-compose.yml's Sentinels start
# with, as the official image has it) and is made again.
recipe_label=org.stickylab.standin.recipe
recipe=2

# needed NAME: whether the stand-in for NAME must be (re)built.
needed() {
	local name=$1 label made_for
	if ! label=$(docker image inspect --format "{{ index .Config.Labels \"$standin_label\" }}" "$name" 2>/dev/null); then
		return 0
	fi
	if [ -n "$label" ] && [ "$label" != "<no value>" ] &&
		[ "$(docker image inspect --format "{{ index .Config.Labels \"$recipe_label\" }}" "$name")" != "$recipe" ]; then
		say "$name is a stand-in of an older recipe: made again"
		return 0
	fi
	if [ "$name" = "$go_image" ] && [ -n "$label" ] && [ "$label" != "<no value>" ]; then
		made_for=$(docker image inspect --format "{{ index .Config.Labels \"$gosum_label\" }}" "$name")
		if [ "$made_for" != "$gosum" ]; then
			say "$name is a stand-in made for another go.sum: made again"
			return 0
		fi
	fi
	if [ "$force" = 1 ]; then
		if [ -z "$label" ] || [ "$label" = "<no value>" ]; then
			say "$name exists and is not a stand-in (a real image?): left alone"
			return 1
		fi
		return 0
	fi
	say "$name already present: skipped (-f rebuilds a stand-in)"
	if [ -n "$label" ] && [ "$label" != "<no value>" ]; then standins+=("$name"); fi
	return 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# copy_with_libs ROOT FILE...: copies each FILE (symbolic links resolved) to
# the same path under ROOT, with the shared libraries ldd lists for it and the
# dynamic loader, so that it runs in an image that has nothing else.
copy_with_libs() {
	local root=$1 f lib
	shift
	for f in "$@"; do
		install -D -m 0755 "$(readlink -f "$f")" "$root$f"
		ldd "$f" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
			while read -r lib; do
				[ -e "$root$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
			done
	done
}

build_go() {
	local goroot gover want root tar hostcache
	command -v go >/dev/null || die "go not found: the Go builder stand-in is made from the local toolchain"
	goroot=$(go env GOROOT)
	gover=$(go env GOVERSION)
	want=${go_image#*:}
	want=go${want%%-*}
	case "$gover." in
	"$want".*) ;;
	*) say "warning: local $gover stands in for $go_image (made for $want.x)" ;;
	esac

	root=$work/go-root
	mkdir -p "$root"/{etc,tmp,root,go/bin}
	chmod 1777 "$root/tmp"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
	printf 'root:x:0:\n' >"$root/etc/group"
	copy_with_libs "$root" /bin/sh
	if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
		install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
	else
		die "/etc/ssl/certs/ca-certificates.crt not found (Debian: apt-get install ca-certificates); deploy/Dockerfile copies it"
	fi

	# The modules of go.sum: first into the local cache (through the Go module
	# proxy, if this machine has not downloaded them yet), then from that cache
	# into a module cache of the image's own, with nothing else in it.
	say "downloading the modules of go.mod into the local module cache"
	GOFLAGS=-mod=readonly go mod download
	hostcache=$(go env GOMODCACHE)
	GOFLAGS=-modcacherw GOMODCACHE="$root/go/pkg/mod" GOPROXY="file://$hostcache/cache/download" \
		GOSUMDB=off go mod download
	# go mod download in the image extracts the zip files again; the extracted
	# copies would only double the image.
	find "$root/go/pkg/mod" -mindepth 1 -maxdepth 1 ! -name cache -exec rm -rf {} +

	say "packing $goroot ($gover) and $(du -sh "$root/go/pkg/mod" | cut -f1) of modules"
	tar="$work/go.tar"
	tar -cf "$tar" --owner=0 --group=0 --numeric-owner -C "$root" .
	# The toolchain goes to /usr/local/go, where the official image has it; its
	# tests are not needed to build.
	tar -rf "$tar" --owner=0 --group=0 --numeric-owner \
		--exclude=./test --exclude=testdata --exclude=./api --exclude=./doc \
		--transform 's,^\.,usr/local/go,S' -C "$goroot" .
	docker import \
		--change "LABEL $standin_label=\"local $gover, not $go_image from a registry (scripts/offline-images.sh)\"" \
		--change "LABEL $gosum_label=$gosum" \
		--change "LABEL $recipe_label=$recipe" \
		--change 'ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change "ENV GOLANG_VERSION=${gover#go}" \
		--change 'ENV GOTOOLCHAIN=local' \
		--change 'ENV GOPATH=/go' \
		--change 'ENV HOME=/root' \
		--change 'ENV GOPROXY=off' \
		--change 'WORKDIR /go' \
		--change 'CMD ["/bin/sh"]' \
		--message "stand-in for $go_image made by scripts/offline-images.sh" \
		"$tar" "$go_image" >/dev/null
	say "built $go_image from local $gover ($(image_size "$go_image")); GOPROXY=off inside: modules come from go.sum's copy"
}

build_redis() {
	local server cli version want root tar
	server=$(command -v redis-server) || die "redis-server not found (Debian: apt-get install redis-server)"
	cli=$(command -v redis-cli) || die "redis-cli not found (Debian: apt-get install redis-tools)"
	version=$("$server" --version | sed -n 's/.* v=\([0-9.]*\).*/\1/p')
	want=${redis_image#*:}
	want=${want%%-*}
	[ "$version" = "$want" ] || say "warning: local redis-server $version stands in for $redis_image"

	root=$work/redis-root
	mkdir -p "$root"/{etc,tmp,data}
	chmod 1777 "$root/tmp"
	printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nredis:x:999:999::/data:/usr/sbin/nologin\n' >"$root/etc/passwd"
	printf 'root:x:0:\nredis:x:999:\n' >"$root/etc/group"
	# /bin/sh as in the official image: docker-compose.yml's Sentinels
	# write their configuration file with it.
	copy_with_libs "$root" "$server" "$cli" /bin/sh
	# The official image keeps them in /usr/local/bin.
	if [ "$(dirname "$server")" != /usr/local/bin ]; then
		mkdir -p "$root/usr/local/bin"
		mv "$root$server" "$root/usr/local/bin/redis-server"
		mv "$root$cli" "$root/usr/local/bin/redis-cli"
	fi

	tar="$work/redis.tar"
	tar -cf "$tar" --owner=0 --group=0 --numeric-owner -C "$root" --exclude=./data .
	# /data belongs to the redis user, as in the official image, so that a
	# container run as user 999 can write its volume.
	tar -rf "$tar" --owner=999 --group=999 --numeric-owner -C "$root" ./data
	docker import \
		--change "LABEL $standin_label=\"local redis-server $version, not $redis_image from a registry (scripts/offline-images.sh)\"" \
		--change "LABEL $recipe_label=$recipe" \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'VOLUME /data' \
		--change 'WORKDIR /data' \
		--change 'EXPOSE 6379' \
		--change 'CMD ["redis-server"]' \
		--message "stand-in for $redis_image made by scripts/offline-images.sh" \
		"$tar" "$redis_image" >/dev/null
	say "built $redis_image from local redis-server $version ($(image_size "$redis_image"))"
}

image_size() {
	docker image inspect --format '{{ .Size }}' "$1" | awk '{ printf "%.0f MB", $1 / 1e6 }'
}

say "making local stand-ins for $go_image and $redis_image (registry users never need this)"
if needed "$go_image"; then
	build_go
	standins+=("$go_image")
fi
if needed "$redis_image"; then
	build_redis
	standins+=("$redis_image")
fi
say "done: 'docker compose up' (or docker-compose up) now builds and runs without a registry."
if [ ${#standins[@]} -gt 0 ]; then
	say "stand-ins (label $standin_label) present now: ${standins[*]}; 'docker rmi ${standins[*]}' removes them."
fi
