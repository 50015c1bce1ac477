#!/usr/bin/env bash
# Load test of the local API with wrk (Debian package `wrk`; this script installs nothing).
#
# Starts local-api on a free loopback port (--port 0, the address read from its log) with a
# fresh temporary data folder (seeded with the demo data), signs in as the demo traveler
# traveler@alpine.demo, and runs three scenarios one after the other, each for DURATION seconds
# with CONNECTIONS connections and THREADS wrk threads:
#   1. GET /v1/me                        scripts/load/me.lua
#   2. POST /v1/search/flights           scripts/load/search.lua   LHR -> JFK, 30 days ahead (UTC):
#                                        12 offers priced, carbon-rated, policy-checked and stored
#   3. POST /v1/bookings                 scripts/load/book.lua     a fresh Idempotency-Key per
#                                        request (RUN_ID-THREAD-COUNTER-RANDOM), so every request
#                                        creates a booking
# Offers for scenario 3: a stored offer is NOT consumed by a booking (checked against the handler
# and the running API: three keys on one offer made three bookings, and shared/src/handlers/
# bookings.rs only reads the stored search). So the script makes one flight search just before
# scenario 3 and the Lua script cycles through its 12 offers: the in-policy ones are confirmed,
# the out-of-policy ones wait for approval, 201 either way (counted per kind in "Tally"). As a
# replayed key would answer 201 too, the script counts the traveler's bookings on the server
# before and after the scenario and flags the run when fewer were made than 201 answers.
# Access tokens live 15 minutes and offers 30: the script signs in again before each scenario
# and searches just before scenario 3, so a scenario may last up to 15 minutes.
#
# For each scenario it prints wrk's output with --latency, then a summary table: requests,
# requests/s, p50 and p99 latency (exact, from a wrk `done` function in scripts/load/report.lua),
# non-2xx answers (wrk's "Non-2xx or 3xx responses"; for bookings every status is counted),
# socket errors (connect, read, write, timeout) and the ERROR lines the server logged during the
# scenario (RUST_LOG=warn; e.g. "an audit event could not be written", which leaves the answer
# 2xx), counted by message under each scenario. Exit status 1 when any scenario had a non-2xx
# answer, a socket error or a logged error, or when the bookings on the server fall short of the
# 201 answers.
#
# Usage: scripts/load-test.sh [--debug] [--no-build] [--bin PATH]
#   (default)     cargo build --release --bin local-api, run target/release/local-api
#   --debug       use the debug build (target/debug/local-api)
#   --no-build    do not run cargo; use the existing target/<profile>/local-api
#   --bin PATH    run this local-api binary (no build)
# Environment: DURATION seconds per scenario (default 10), CONNECTIONS (default 16),
#              THREADS wrk threads (default 2, at most CONNECTIONS).
set -euo pipefail

usage() { sed -n '/^# Usage:/,/^# *THREADS/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "load-test: $*" >&2; exit 1; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lua_dir="$root/scripts/load"
profile=release
build=1
bin=""
while [ $# -gt 0 ]; do
    case "$1" in
        --debug) profile=debug ;;
        --no-build) build=0 ;;
        --bin) [ $# -ge 2 ] || die "--bin needs a path"; bin="$2"; shift ;;
        --bin=*) bin="${1#--bin=}" ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
    shift
done

duration="${DURATION:-10}"
connections="${CONNECTIONS:-16}"
threads="${THREADS:-2}"
for v in duration connections threads; do
    [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "${v^^} must be a positive whole number, not '${!v}'"
done
[ "$threads" -le "$connections" ] || threads="$connections"

command -v wrk >/dev/null || die "wrk not found: install the Debian package wrk (apt-get install wrk); this script installs nothing"
command -v python3 >/dev/null || die "python3 not found"

if [ -n "$bin" ]; then
    [ -x "$bin" ] || die "--bin $bin: no executable there"
    build_label="$bin"
else
    bin="$root/target/$profile/local-api"
    build_label="$profile build"
    if [ "$build" = 1 ]; then
        command -v cargo >/dev/null || die "cargo not found (use --no-build or --bin PATH with an existing binary)"
        echo "Building local-api ($profile)..."
        if [ "$profile" = release ]; then
            (cd "$root" && cargo build -q --release --bin local-api)
        else
            (cd "$root" && cargo build -q --bin local-api)
        fi
    fi
    [ -x "$bin" ] || die "no binary at $bin (build it, or drop --no-build, or pass --bin PATH)"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/load-test.XXXXXX")"
data="$work/data"
pid=""
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

server_log_tail() { echo "--- last lines of the server log:" >&2; tail -n 20 "$work/server.log" >&2 || true; }

RUST_LOG=warn "$bin" --port 0 --data-dir "$data" >"$work/server.log" 2>&1 &
pid=$!
base=""
for _ in $(seq 1 600); do
    base="$(sed -n 's|^Local API on \(http://[0-9.:]*\).*|\1|p' "$work/server.log" | head -n 1)"
    [ -n "$base" ] && break
    kill -0 "$pid" 2>/dev/null || { server_log_tail; die "local-api exited during start-up"; }
    sleep 0.1
done
[ -n "$base" ] || { server_log_tail; die "local-api did not report its address within 60 s"; }

# Small HTTP helpers in Python (standard library only).
# api health | login (-> access token) | search TOKEN ORIGIN DEST DATE (-> offer ids)
#     | count-bookings TOKEN (-> the traveler's bookings)
api() {
    python3 - "$base" "$data/demo-credentials.json" "$@" <<'PY'
import json, sys, time, urllib.error, urllib.parse, urllib.request
base, creds, action, *args = sys.argv[1:]
EMAIL = "traveler@alpine.demo"

def call(method, path, body=None, token=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = "Bearer " + token
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        sys.exit(f"load-test: {method} {path} answered {e.code}: {e.read()[:500].decode(errors='replace')}")

if action == "health":
    for _ in range(300):
        try:
            with urllib.request.urlopen(base + "/v1/health", timeout=5) as r:
                if r.status == 200:
                    sys.exit(0)
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("load-test: /v1/health did not answer 200 within 30 s")
elif action == "login":
    password = next(u["password"] for u in json.load(open(creds))["users"] if u["email"] == EMAIL)
    print(call("POST", "/v1/auth/login", {"email": EMAIL, "password": password})["access_token"])
elif action == "search":
    token, origin, dest, day = args
    found = call("POST", "/v1/search/flights", {"origin": origin, "destination": dest, "depart_on": day}, token)
    offers = found["offers"]
    if not offers:
        sys.exit(f"load-test: the search {origin}-{dest} on {day} found no offers")
    n_in = sum(1 for o in offers if o["policy"]["in_policy"])
    print(f"Offers for the bookings: search {found['search_id']}, {len(offers)} offers, "
          f"{n_in} in policy, {len(offers) - n_in} out of policy", file=sys.stderr)
    print(" ".join(o["id"] for o in offers))
elif action == "count-bookings":
    token, n, cursor = args[0], 0, None
    while True:
        page = call("GET", "/v1/bookings?limit=100" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else ""), token=token)
        n += len(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    print(n)
else:
    sys.exit(f"load-test: unknown api action {action}")
PY
}

api health
origin=LHR
destination=JFK
depart_on="$(python3 -c 'import datetime as d; print(d.datetime.now(d.timezone.utc).date() + d.timedelta(days=30))')"
run_id="lt$(date +%s)x$$"

echo "local-api ($build_label) on $base; $connections connections, $threads wrk threads, $duration s per scenario"

# log_errors FILE: the ERROR lines of a piece of the server log, counted by message; prints
# nothing when there are none. A request can answer 2xx and still log an error: a failed audit
# append is logged and the answer stands.
log_errors() {
    python3 - "$1" <<'PY'
import collections, json, sys
counts = collections.Counter()
for line in open(sys.argv[1], errors="replace"):
    try:
        entry = json.loads(line)
    except ValueError:
        continue
    if isinstance(entry, dict) and entry.get("level") == "ERROR":
        counts[entry.get("message", "?") + (f": {entry['error']}" if "error" in entry else "")] += 1
if counts:
    print(f"  Server log: {sum(counts.values())} ERROR lines: " + "; ".join(f"{n} x {m}" for m, n in counts.most_common()))
PY
}

# run_scenario NAME LABEL PATH LUA [LUA ARGS...]
names=()
labels=()
run_scenario() {
    local name="$1" label="$2" path="$3" lua="$4"
    shift 4
    local token
    token="$(api login)"
    echo
    echo "=== $label"
    local log_mark
    log_mark="$(wc -c <"$work/server.log")"
    LOAD_RESULT_FILE="$work/$name.result" wrk --latency -t "$threads" -c "$connections" -d "${duration}s" \
        -H "Authorization: Bearer $token" -s "$lua_dir/$lua" "$base$path" -- "$@" ||
        die "wrk failed in scenario '$label'"
    [ -s "$work/$name.result" ] || die "wrk wrote no result for scenario '$label'"
    kill -0 "$pid" 2>/dev/null || { server_log_tail; die "local-api died during scenario '$label'"; }
    sleep 0.5 # the requests in flight when wrk stopped finish and log
    tail -c +"$((log_mark + 1))" "$work/server.log" >"$work/$name.log"
    log_errors "$work/$name.log"
    names+=("$name")
    labels+=("$label")
}

# The table of every scenario run so far; exit status 1 when one had errors.
summary() {
    echo
    python3 - "$work" "$build_label" "$connections" "$threads" "$duration" "${#names[@]}" "${names[@]}" "${labels[@]}" <<'PY'
import sys
work, build, conns, threads, duration, n, *rest = sys.argv[1:]
n = int(n)
names, labels = rest[:n], rest[n:]
rows, bad = [], False
for name, label in zip(names, labels):
    fields = dict(kv.split("=", 1) for kv in open(f"{work}/{name}.result").read().split())
    requests, secs = int(fields["requests"]), int(fields["duration_us"]) / 1e6
    non2xx = int(fields["non2xx"])
    sock = sum(int(fields[k]) for k in ("connect", "read", "write", "timeout"))
    log_errors = sum(1 for line in open(f"{work}/{name}.log", errors="replace") if '"level":"ERROR"' in line)
    flag = "  <-- ERRORS" if non2xx or sock else ""
    if log_errors:
        flag += "  <-- SERVER LOGGED ERRORS"
    try:
        made = int(open(f"{work}/{name}.check").read().split("=")[1])
        created = int(dict(c.split(":") for c in fields["statuses"].split(",") if c).get("201", 0))
        if made < created:
            flag += f"  <-- ONLY {made:,} BOOKINGS MADE FOR {created:,} ANSWERS 201"
    except FileNotFoundError:
        pass
    bad |= bool(flag)
    rows.append((label, f"{requests:,}", f"{requests / secs:,.0f}", f"{int(fields['p50_us']) / 1000:.2f}",
                 f"{int(fields['p99_us']) / 1000:.2f}", f"{non2xx:,}", f"{sock:,}", f"{log_errors:,}", flag))
head = ("scenario", "requests", "requests/s", "p50 ms", "p99 ms", "non-2xx", "socket errors", "log errors", "")
widths = [max(len(r[i]) for r in rows + [head]) for i in range(8)]
print(f"Summary: local-api {build}, {conns} connections, {threads} wrk threads, {duration} s per scenario")
for r in [head] + rows:
    print("  ".join([r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:8], widths[1:])]) + r[8])
sys.exit(1 if bad else 0)
PY
}

run_scenario me "GET /v1/me" /v1/me me.lua
run_scenario search "POST /v1/search/flights $origin-$destination" /v1/search/flights search.lua \
    "$origin" "$destination" "$depart_on"
token="$(api login)"
# shellcheck disable=SC2207 # offer ids are plain words
offers=($(api search "$token" "$origin" "$destination" "$depart_on")) && bookings_before="$(api count-bookings "$token")" ||
    { summary || true; die "cannot prepare the booking scenario (see above)"; }
run_scenario book "POST /v1/bookings (fresh key each)" /v1/bookings book.lua "$run_id" "${offers[@]}"
# A replayed Idempotency-Key also answers 201: count the bookings the server really holds.
bookings_made=$(($(api count-bookings "$(api login)") - bookings_before))
echo "  Bookings created on the server: $bookings_made (wrk stops with up to $connections requests in flight)"
echo "bookings_made=$bookings_made" >"$work/book.check"

summary
