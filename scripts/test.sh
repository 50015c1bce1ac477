#!/usr/bin/env bash
# Runs every test: unit tests, the storage contract suite on the embedded store and on DynamoDB,
# the AWS adapters through the real SDK against moto's server (installed into .venv and started
# here on a free loopback port), the end-to-end tests over HTTP, the template, event and OpenAPI
# checks, and the template linters.
#
# Usage: scripts/test.sh [extra cargo test arguments]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/pytools.sh

port="$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
log="$(mktemp -t moto.XXXXXX.log)"
.venv/bin/moto_server -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto_pid=$!
cleanup() { kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; rm -f "$log"; }
trap cleanup EXIT

for _ in $(seq 1 100); do
    if .venv/bin/python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then
        break
    fi
    if ! kill -0 "$moto_pid" 2>/dev/null; then
        echo "moto failed to start:" >&2; cat "$log" >&2; exit 1
    fi
    sleep 0.2
done
echo "moto server on http://127.0.0.1:$port"

export MOTO_ENDPOINT="http://127.0.0.1:$port"
export REQUIRE_MOTO=1
# Libraries, binaries and test targets; the benches print figures and run with `cargo bench`.
cargo test --workspace --lib --bins --tests "$@"

bash scripts/lint-templates.sh template.yaml
