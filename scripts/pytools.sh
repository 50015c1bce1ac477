#!/usr/bin/env bash
# Creates (if missing) the project's Python virtual environment in .venv and installs the pinned
# tools of scripts/requirements-tools.txt: moto[server] (AWS-compatible local server for the SDK
# tests), cfn-lint and aws-sam-cli (template checks). With VENV and REQUIREMENTS it does the same
# for another pin set (scripts/static-analysis.sh: .venv-checkov from requirements-checkov.txt).
#
# Idempotent and cheap when nothing changed: the venv records the hash of the requirements file
# (and the Python version) it was installed from, and pip runs only when that differs.
#
# Usage:  scripts/pytools.sh          # make sure the tools are there
#         . scripts/pytools.sh        # same, then the venv's bin/ is first on PATH
# Env:    PYTHON (default python3; the pins are tested on 3.11), VENV (default <repo>/.venv),
#         REQUIREMENTS (default <repo>/scripts/requirements-tools.txt)

_pytools_main() {
    local root venv req stamp python want have
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    venv="${VENV:-$root/.venv}"
    req="${REQUIREMENTS:-$root/scripts/requirements-tools.txt}"
    stamp="$venv/.requirements-tools.sha256"
    python="${PYTHON:-python3}"

    command -v "$python" >/dev/null || { echo "pytools: $python not found" >&2; return 1; }

    # One installer at a time: parallel CI steps or a second terminal must not interleave pips.
    # (The lock lives outside the work tree, keyed by the venv's path.)
    mkdir -p "$(dirname "$venv")"
    exec 9>"${TMPDIR:-/tmp}/pytools-$(printf '%s' "$venv" | sha256sum | cut -c1-16).lock"
    if command -v flock >/dev/null; then flock 9; fi

    # A venv whose interpreter is gone (Python upgraded or removed) is rebuilt from scratch.
    if [ -d "$venv" ] && ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
        echo "pytools: $venv is broken, recreating" >&2
        rm -rf "$venv"
    fi
    if [ ! -x "$venv/bin/python" ]; then
        echo "pytools: creating $venv with $("$python" --version 2>&1)" >&2
        "$python" -m venv "$venv"
    fi

    want="$(sha256sum "$req" | cut -d' ' -f1) $("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    have="$(cat "$stamp" 2>/dev/null || true)"
    if [ "$want" != "$have" ]; then
        echo "pytools: installing $(grep -c '==' "$req") pinned packages from ${req#"$root"/}" >&2
        rm -f "$stamp"
        "$venv/bin/python" -m pip install --disable-pip-version-check --quiet -r "$req"
        # Catch a pin set that pip accepted but that does not fit together.
        "$venv/bin/python" -m pip check >&2
        echo "$want" >"$stamp"
    fi
    exec 9>&-
}

if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
    # Sourced: install in a subshell (so `set -e` and the lock stay there), then put the tools
    # first on the caller's PATH.
    (set -euo pipefail; _pytools_main) || return 1
    export PATH="${VENV:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.venv}/bin:$PATH"
else
    set -euo pipefail
    _pytools_main "$@"
fi
