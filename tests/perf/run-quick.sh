#!/usr/bin/env bash
# CI entry point of the performance harness: its unit tests (Runtime API emulator protocol, the
# patched moto, recording proxy, a real lambda_http binary), then a short run over three functions and the
# bare yardstick. CI checks that it runs and that every answer is 2xx, not its timings.
#
# Usage: bash tests/perf/run-quick.sh          (writes bench-results/quick/perf.md and perf.json)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

bash scripts/pytools.sh                       # .venv with moto[server], boto3, cryptography
nice -n 19 cargo build --profile perf-quick -p bare-lambda --bin bare
nice -n 19 cargo build --profile perf-quick -p functions --bin health

PERF_BARE_BIN="$root/target/perf-quick/bare" PERF_FUNCTION_BIN="$root/target/perf-quick/health" \
    .venv/bin/python tests/perf/test_runtime_api.py
.venv/bin/python tests/perf/test_moto_server.py

.venv/bin/python tests/perf/harness.py --quick --profile perf-quick \
    --functions health,me,users-list --require-2xx --require-hot-text --out bench-results/quick
