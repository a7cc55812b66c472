#!/usr/bin/env bash
# Check infra/template.yaml with three pinned tools, each in the venv scripts/bootstrap.sh makes for it:
#   1. cfn-lint (.venv)                      errors or warnings fail (informational findings do not)
#   2. sam validate --lint (.venv-sam)       the SAM transform and SAM's own lint; offline, no credentials
#   3. checkov (.venv-checkov)               CloudFormation checks, offline (--skip-download); a failed check
#                                            fails unless suppressed in the resource's Metadata with a reason
# Extra arguments are passed to cfn-lint, e.g. `scripts/lint-infra.sh --format parseable`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/bootstrap.sh" dev sam checkov >&2

cd "$ROOT"
TEMPLATE=infra/template.yaml

# cfn-lint's exit code is a bit mask: 2 = error, 4 = warning, 8 = informational. Configuration (regions,
# ignored checks) lives in infra/.cfnlintrc.
status=0
"$ROOT/.venv/bin/cfn-lint" --config-file infra/.cfnlintrc "$@" -- "$TEMPLATE" || status=$?
if (( status & ~8 )); then
    echo "lint-infra: cfn-lint found problems in $TEMPLATE (exit $status)" >&2
    exit 1
fi
echo "lint-infra: $TEMPLATE passes cfn-lint $("$ROOT/.venv/bin/cfn-lint" --version | awk '{print $2}')"

# No telemetry, no credentials: a region only names the partition the transform resolves against.
export SAM_CLI_TELEMETRY=0
if ! "$ROOT/.venv-sam/bin/sam" validate --lint --template "$TEMPLATE" --region "${AWS_REGION:-us-east-1}" >&2; then
    echo "lint-infra: sam validate --lint found problems in $TEMPLATE" >&2
    exit 1
fi
echo "lint-infra: $TEMPLATE passes sam validate --lint ($("$ROOT/.venv-sam/bin/sam" --version))"

# --skip-download: no policy or guideline download (offline); --quiet: failed checks only; exit 1 on any.
if ! "$ROOT/.venv-checkov/bin/checkov" --skip-download --framework cloudformation --file "$TEMPLATE" \
    --compact --quiet >&2; then
    echo "lint-infra: checkov found failed checks in $TEMPLATE (fix them, or suppress one in the resource's" \
        "Metadata: checkov: skip: [{id: CKV_..., comment: <the reason>}])" >&2
    exit 1
fi
echo "lint-infra: $TEMPLATE passes checkov $("$ROOT/.venv-checkov/bin/checkov" --version) (suppressions:" \
    "$(grep -c -- '- id: CKV' "$TEMPLATE"), each with its reason in the template)"
