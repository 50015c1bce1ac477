#!/usr/bin/env bash
# Records which code the functions run and which read-only data they read, and writes
# functions/hot-text.txt and functions/hot-rodata.txt, the layout release links use
# (functions/build.rs): builds every function with symbols and link maps (target/symbols), runs
# the harness over all of them under callgrind (20 warm invocations each) and turns what ran into
# section patterns without build hashes (tests/perf/hot_text.py); then runs them again natively
# with tests/perf/rodata_touch.c preloaded and names the data they read from the link maps
# (tests/perf/hot_rodata.py). Needs valgrind, gcc and binutils; about 40 minutes for the code and
# 15 for the data on 2 cores. Run it after a change of dependencies or of a hot path, then
# measure (tests/perf/README.md, "Code layout", "Data layout"). The recordings stay in
# target/symbols/hot-text-recording and target/symbols/hot-rodata-recording (with the link maps
# of the build the data was recorded from); `--listing-only` writes both listings from them again.
#
# Usage: bash tests/perf/record-hot-text.sh [--listing-only | --code-only | --data-only] [FUNCTIONS]
# FUNCTIONS (comma-separated; default all) records those functions again and keeps the other
# functions' recordings: after a change to one function's hot path, say. `--data-only` records
# the data and leaves the code's recording as it is: the data's anonymous constants are named by
# their place in their crate, so the data goes stale sooner than the code. `--code-only` records
# the code and keeps the data's recording: after a change of what LLVM inlines (a feature or a
# profile setting) that left the data's names as they were.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
# The release profile as it is, linked with symbols (functions/build.rs strips otherwise): any
# profile override (debug information, strip) changes every crate's hash, and LLVM then keeps
# other functions out of line than the release build runs.
export CARGO_TARGET_DIR="$root/target/symbols" HOT_TEXT_KEEP_SYMBOLS=1 HOT_TEXT_MAP_DIR="$root/target/symbols/maps"
recording="$CARGO_TARGET_DIR/hot-text-recording"
data="$CARGO_TARGET_DIR/hot-rodata-recording"
mkdir -p "$HOT_TEXT_MAP_DIR" "$data"

# The functions run with their user and tenant caches expiring every second, so that the
# recordings (20 calls, some seconds under either recorder) see the path that reloads and
# replaces an entry, which a container runs every AUTH_CACHE_SECONDS (30 s): unrecorded, it
# ran from cold pages, and the kernel maps 64 KB around each.
# Idle pooled connections are closed after a second for the same reason: a function that makes
# requests side by side keeps a second connection, which the pool closes once it has been idle
# 90 s (nine pages of cold code in booking creation, late in a 1,000-call run).
expiring_caches="env AUTH_CACHE_SECONDS=1 AWS_HTTP_POOL_IDLE_SECONDS=1"

mode="${1:-}"
case "$mode" in --listing-only | --code-only | --data-only) shift ;; *) mode=all ;; esac
functions="${1:-all}"
names=()
[ "$functions" = all ] || IFS=, read -ra names <<< "$functions"

if [ "$mode" != --listing-only ]; then
    bash scripts/pytools.sh
fi

if [ "$mode" = all ] || [ "$mode" = --code-only ]; then
    command -v valgrind >/dev/null || { echo "record-hot-text: valgrind is needed (apt-get install valgrind)" >&2; exit 2; }
    if [ "$functions" = all ]; then
        rm -rf "$recording"
    else
        for name in "${names[@]}"; do
            grep -l -E "^cmd: .*/$name\$" "$recording"/callgrind.* 2>/dev/null | xargs -r rm -f
        done
    fi
    mkdir -p "$recording"
    .venv/bin/python tests/perf/harness.py --functions "$functions" --warm 20 --require-2xx --out "$recording/results" \
        --launch-prefix "$expiring_caches valgrind --tool=callgrind --demangle=no --callgrind-out-file=$recording/callgrind.$(date +%s).%p"
fi

if [ "$mode" = all ] || [ "$mode" = --data-only ]; then
    if [ "$functions" = all ]; then
        rm -f "$data"/touched.*
    else
        for name in "${names[@]}"; do rm -f "$data/touched.$name".*; done
    fi
    gcc -O2 -shared -fPIC -o "$data/rodata_touch.so" tests/perf/rodata_touch.c
    # Built (with the link maps) by the code's pass, or here for --data-only.
    build=(); [ "$mode" = --data-only ] || build=(--no-build)
    .venv/bin/python tests/perf/harness.py "${build[@]}" --functions "$functions" --warm 20 --require-2xx --out "$data/results" \
        --launch-prefix "$expiring_caches LD_PRELOAD=$data/rodata_touch.so TOUCH_OUT=$data/touched"
    # The addresses recorded are those of this build: keep its link maps with them, since any
    # later link (a new listing, a --code-only pass) moves the data.
    mkdir -p "$data/maps"
    for touched in "$data"/touched.*; do
        name="${touched#"$data"/touched.}"
        name="${name%.*}"
        # The yardsticks have no map; hot_rodata.py leaves them out.
        if [ -f "$HOT_TEXT_MAP_DIR/$name.map" ]; then cp "$HOT_TEXT_MAP_DIR/$name.map" "$data/maps/$name.map"; fi
    done
fi

# The code's listing matches what ran against the symbols of the binaries as they are now, by
# names without hashes (hot_text.py), so older recordings of other functions still count. After
# --data-only it is left as it is: the code was not recorded again.
if [ "$mode" != --data-only ]; then
    # The yardsticks are measured too; their code is not the functions'.
    mapfile -t outputs < <(grep -L -E '^cmd: .*/(bare|bare-sdk)$' "$recording"/callgrind.*)
    mapfile -t archives < <(ls "$CARGO_TARGET_DIR"/release/build/aws-lc-sys-*/out/libaws_lc_*_crypto.a)
    args=()
    for a in "${archives[@]}"; do args+=(--archive "$a"); done
    python3 tests/perf/hot_text.py "${args[@]}" "${outputs[@]}" > functions/hot-text.txt
    echo "record-hot-text: wrote functions/hot-text.txt from ${#outputs[@]} runs"
fi
# The data's listing comes from the data's recording and the maps kept with it; a --code-only
# pass leaves it as it is.
if [ "$mode" != --code-only ]; then
    python3 tests/perf/hot_rodata.py --maps "$data/maps" "$data"/touched.* > functions/hot-rodata.txt
    echo "record-hot-text: wrote functions/hot-rodata.txt"
fi
