#!/usr/bin/env bash
# Installs the project's pinned cargo tools: cargo-deny (licenses, bans and sources of the
# dependency graph, see deny.toml). Idempotent: cargo install runs only when `cargo deny
# --version` is missing or reports another version. A first install compiles cargo-deny
# (a few minutes on 2 cores); set CARGO_TOOLS_JOBS=1 to leave a core to other builds.
#
# Usage: scripts/cargo-tools.sh
set -euo pipefail

CARGO_DENY_VERSION=0.20.2

have="$(cargo deny --version 2>/dev/null || true)"
if [ "$have" != "cargo-deny $CARGO_DENY_VERSION" ]; then
    echo "cargo-tools: installing cargo-deny $CARGO_DENY_VERSION (found: ${have:-none})" >&2
    jobs=()
    if [ -n "${CARGO_TOOLS_JOBS:-}" ]; then jobs=(-j "$CARGO_TOOLS_JOBS"); fi
    cargo install --locked "${jobs[@]}" cargo-deny --version "$CARGO_DENY_VERSION"
fi
