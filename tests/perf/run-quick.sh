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

# The first answer without AWS time is the function's own: less than the whole where the first
# call went to AWS (`me`, `users-list`), and more than nothing.
.venv/bin/python - <<'PY'
import json, sys
results = {r["function"]: r for r in json.load(open("bench-results/quick/perf.json"))["results"]}
for name in ("me", "users-list"):
    r = results[name]
    own, whole = r["first_response_excl_aws_ms"], r["first_response_ms"]
    if not (r["aws_first_invocation"] and 0 < own < whole):
        sys.exit(f"run-quick: {name}: first response {whole:.2f} ms, {own:.2f} ms without AWS, calls {r['aws_first_invocation']}")
print("run-quick: first responses without AWS time are the functions' own")
PY
