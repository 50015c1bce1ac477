#!/usr/bin/env bash
# Records which code the functions run and writes functions/hot-text.txt, the layout release links
# use (functions/build.rs): builds every function with symbols (target/symbols), runs the harness
# over all of them under callgrind (20 warm invocations each), and turns what ran into section
# patterns without build hashes (tests/perf/hot_text.py). Needs valgrind and binutils; about 40
# minutes on 2 cores. Run it after a change of dependencies or of a hot path, then measure
# (tests/perf/README.md, "Code layout"). The callgrind outputs stay in
# target/symbols/hot-text-recording; `--listing-only` writes the listing from them again.
#
# Usage: bash tests/perf/record-hot-text.sh [--listing-only] [FUNCTIONS]
# FUNCTIONS (comma-separated; default all) records those functions again and keeps the other
# functions' recordings: after a change to one function's hot path, say.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
# The release profile as it is, linked with symbols (functions/build.rs strips otherwise): any
# profile override (debug information, strip) changes every crate's hash, and LLVM then keeps
# other functions out of line than the release build runs.
export CARGO_TARGET_DIR="$root/target/symbols" HOT_TEXT_KEEP_SYMBOLS=1
recording="$CARGO_TARGET_DIR/hot-text-recording"

if [ "${1:-}" = --listing-only ]; then
    shift
else
    command -v valgrind >/dev/null || { echo "record-hot-text: valgrind is needed (apt-get install valgrind)" >&2; exit 2; }
    bash scripts/pytools.sh
    functions="${1:-all}"
    if [ "$functions" = all ]; then
        rm -rf "$recording"
    else
        IFS=, read -ra names <<< "$functions"
        for name in "${names[@]}"; do
            grep -l -E "^cmd: .*/$name\$" "$recording"/callgrind.* 2>/dev/null | xargs -r rm -f
        done
    fi
    mkdir -p "$recording"
    .venv/bin/python tests/perf/harness.py --functions "$functions" --warm 20 --require-2xx --out "$recording/results" \
        --launch-prefix "valgrind --tool=callgrind --demangle=no --callgrind-out-file=$recording/callgrind.$(date +%s).%p"
fi

# The yardsticks are measured too; their code is not the functions'.
mapfile -t outputs < <(grep -L -E '^cmd: .*/(bare|bare-sdk)$' "$recording"/callgrind.*)
mapfile -t archives < <(ls "$CARGO_TARGET_DIR"/release/build/aws-lc-sys-*/out/libaws_lc_*_crypto.a)
args=()
for a in "${archives[@]}"; do args+=(--archive "$a"); done
python3 tests/perf/hot_text.py "${args[@]}" "${outputs[@]}" > functions/hot-text.txt
echo "record-hot-text: wrote functions/hot-text.txt from ${#outputs[@]} runs"
