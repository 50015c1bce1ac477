#!/usr/bin/env bash
# Load test of the local API's GET /v1/me with wrk (Debian package `wrk`): starts local-api
# (release build) on a free loopback port with a fresh data folder, signs in as the demo
# traveler, runs wrk for DURATION seconds with CONNECTIONS connections, prints wrk's latency
# distribution (p50, p75, p90, p99) and requests per second, and stops the server.
#
# Usage: scripts/load-me.sh [--debug]   env: DURATION (default 10), CONNECTIONS (default 16)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 1; }
profile=release; [ "${1:-}" = "--debug" ] && profile=debug
if [ "$profile" = release ]; then cargo build -q --release --bin local-api; else cargo build -q --bin local-api; fi
data="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
RUST_LOG=warn "target/$profile/local-api" --port "$port" --data-dir "$data" >"$data/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/v1/health" >/dev/null && break; sleep 0.1; done
pw=$(python3 -c "import json,sys; print(next(u['password'] for u in json.load(open(sys.argv[1]))['users'] if u['email']=='traveler@alpine.demo'))" "$data/demo-credentials.json")
token=$(curl -s "http://127.0.0.1:$port/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"traveler@alpine.demo\",\"password\":\"$pw\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
echo "GET /v1/me, $profile build, ${CONNECTIONS:-16} connections, ${DURATION:-10} s, 2 wrk threads"
wrk --latency -t 2 -c "${CONNECTIONS:-16}" -d "${DURATION:-10}s" -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v1/me"
