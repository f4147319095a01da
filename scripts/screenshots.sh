#!/usr/bin/env bash
# scripts/screenshots.sh: makes the README's screenshots, docs/*.png, from the
# real lab. It runs the browser test of lab/ (the real "stickylab demo", real
# instances killed for real, headless Chromium) with STICKYLAB_SCREENSHOTS
# pointing at docs/, so that every picture shows a step the test has just
# checked:
#
#   docs/dashboard.png         the dashboard, the shop beside it logged in with a cart (memory sessions)
#   docs/app.png               the shop alone, with the balancer's stickiness strip
#   docs/dashboard-killed.png  the instance that served killed: down, re-stuck elsewhere, logged out
#   docs/dashboard-redis.png   the same kill with sessions in Redis: still logged in, cart kept
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null; then
	echo "screenshots: chromium is needed (apt-get install chromium)" >&2
	exit 1
fi
mkdir -p docs
STICKYLAB_SCREENSHOTS="$PWD/docs" STICKYLAB_REQUIRE=chromium \
	go test -count=1 -run '^TestBrowserKill$' -v ./lab/
