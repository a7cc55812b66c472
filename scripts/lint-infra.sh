#!/usr/bin/env bash
# Lint the SAM/CloudFormation template with the project's pinned cfn-lint (see scripts/bootstrap.sh).
# Exits non-zero when cfn-lint reports errors or warnings (informational findings do not fail).
# Extra arguments are passed to cfn-lint, e.g. `scripts/lint-infra.sh --format parseable`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/bootstrap.sh" >&2

cd "$ROOT"
# cfn-lint's exit code is a bit mask: 2 = error, 4 = warning, 8 = informational. Configuration (regions,
# ignored checks) lives in infra/.cfnlintrc.
status=0
"$ROOT/.venv/bin/cfn-lint" --config-file infra/.cfnlintrc "$@" -- infra/template.yaml || status=$?
if (( status & ~8 )); then
    echo "lint-infra: cfn-lint found problems in infra/template.yaml (exit $status)" >&2
    exit 1
fi
echo "lint-infra: infra/template.yaml passes cfn-lint $("$ROOT/.venv/bin/cfn-lint" --version | awk '{print $2}')"
