#!/usr/bin/env bash
# Lints CloudFormation/SAM templates offline with the pinned tools from scripts/pytools.sh:
#   1. cfn-lint (the SAM transform is applied first, then the CloudFormation schemas and rules);
#      errors *and* warnings fail, informational findings do not. A warning that cannot be
#      avoided is silenced in the template itself (Metadata: cfn-lint: config: ignore_checks),
#      next to a comment that says why.
#   2. `sam validate --lint`: SAM CLI's own translation of the template plus its cfn-lint run.
#   3. scripts/check_iam_actions.py: every IAM action is a real one (cfn-lint's W3037 does not
#      reach the inline Policies of SAM functions).
# Exits non-zero if any of them finds anything.
#
# Usage: scripts/lint-templates.sh [template.yaml ...]   (default: template.yaml)
#
# Offline notes (measured with aws-sam-cli 1.170.0): `sam validate --lint` needs neither network
# nor credentials, and `sam validate` without --lint passed too for this template. Still, SAM CLI
# builds a boto3 session, and without a region or credentials a future version (or a template
# naming AWS-managed policies, which basic validation resolves through IAM) would walk the
# credential chain to the EC2 metadata endpoint. So the tools run with a fixed region, dummy
# credentials that can sign nothing real, no profile or config file, no metadata lookup and no
# telemetry.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/pytools.sh
bin="$root/.venv/bin"

if [ "$#" -eq 0 ]; then set -- template.yaml; fi

offline_env=(
    AWS_DEFAULT_REGION=eu-central-1
    AWS_REGION=eu-central-1
    AWS_ACCESS_KEY_ID=testing
    AWS_SECRET_ACCESS_KEY=testing
    AWS_SESSION_TOKEN=testing
    AWS_EC2_METADATA_DISABLED=true
    AWS_CONFIG_FILE=/dev/null
    AWS_SHARED_CREDENTIALS_FILE=/dev/null
    SAM_CLI_TELEMETRY=0
)

status=0
for template in "$@"; do
    echo "== cfn-lint $template"
    if env -u AWS_PROFILE "${offline_env[@]}" "$bin/cfn-lint" --non-zero-exit-code warning -- "$template"; then
        echo "cfn-lint: no errors or warnings"
    else
        echo "cfn-lint: FAILED on $template" >&2
        status=1
    fi

    echo "== sam validate --lint $template"
    # SAM CLI logs the whole template at INFO when it fails; keep its output for the failure case.
    if out="$(env -u AWS_PROFILE "${offline_env[@]}" "$bin/sam" validate --lint --region eu-central-1 \
        --template-file "$template" 2>&1)"; then
        printf '%s\n' "$out" | grep -E 'valid SAM Template' || printf '%s\n' "$out"
    else
        printf '%s\n' "$out" | grep -v -E '^\s*$' | grep -v -E ' - cfnlint - INFO - ' >&2
        echo "sam validate: FAILED on $template" >&2
        status=1
    fi

    echo "== IAM actions $template"
    if ! "$bin/python" scripts/check_iam_actions.py "$template"; then
        echo "IAM actions: FAILED on $template" >&2
        status=1
    fi
done
exit "$status"
