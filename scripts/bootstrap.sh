#!/usr/bin/env bash
# Create/refresh the project-local Python virtualenvs with pinned tools. Usage:
#
#   scripts/bootstrap.sh [dev] [sam] [checkov]      (no argument: dev)
#
#   dev      <repo>/.venv          scripts/requirements-dev.txt      moto[server], cfn-lint (tests, demo, lint)
#   sam      <repo>/.venv-sam      scripts/requirements-sam.txt      aws-sam-cli (sam validate --lint, sam build)
#   checkov  <repo>/.venv-checkov  scripts/requirements-checkov.txt  checkov (IaC scan in scripts/lint-infra.sh)
#
# Three venvs because their pins do not mix: aws-sam-cli pins boto3/botocore, click and pydantic exactly (beside
# moto it would downgrade the botocore moto's server answers with), and checkov's ranges conflict with SAM's.
#
# Idempotent and fast when already done: a stamp file (<venv>/.wavault-stamp) holds a hash of the requirements
# and the interpreter version; when it matches, nothing is installed. Venvs that need work are installed in
# parallel. Needs only python3 (with the venv module) and PyPI. Never uses any system-wide moto, SAM or checkov.
#
# Environment:
#   WAVAULT_PYTHON   interpreter used to create the venvs (default: python3)
#   WAVAULT_VENV     location of the dev venv (default: <repo>/.venv)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
PY="${WAVAULT_PYTHON:-python3}"

venv_of() {
    case "$1" in
        dev) echo "${WAVAULT_VENV:-$ROOT/.venv}" ;;
        sam) echo "$ROOT/.venv-sam" ;;
        checkov) echo "$ROOT/.venv-checkov" ;;
        *) return 1 ;;
    esac
}

want_stamp() { # venv req python
    # Hash of: stamp format version, venv path (its scripts' shebangs are absolute), the venv's interpreter
    # version (a venv made by another Python must be rebuilt) and the requirements.
    local pyver
    pyver="$("$3" -c 'import sys; print(sys.version)' 2>/dev/null || echo none)"
    { echo "wavault-venv-v1"; echo "$1"; echo "$pyver"; cat "$2"; } | sha256sum | cut -d' ' -f1
}

up_to_date() { # venv req
    [[ -x "$1/bin/python" && -f "$1/.wavault-stamp" ]] || return 1
    [[ "$(cat "$1/.wavault-stamp")" == "$(want_stamp "$1" "$2" "$1/bin/python")" ]]
}

ensure() { # name venv req
    local name="$1" venv="$2" req="$3" stamp="$2/.wavault-stamp"
    up_to_date "$venv" "$req" && return 0

    # Serialize concurrent bootstraps of the same venv (e.g. parallel test runs); re-check once we hold the
    # lock. The lock lives outside the venv, which may be wiped below.
    local lock
    lock="${TMPDIR:-/tmp}/wavault-bootstrap-$(printf '%s' "$venv" | sha256sum | cut -c1-16).lock"
    exec 9>"$lock"
    if command -v flock >/dev/null 2>&1; then
        flock 9
        if up_to_date "$venv" "$req"; then
            echo "bootstrap: $venv is up to date (done by a concurrent run)"
            return 0
        fi
    fi

    local start=$SECONDS action="updated"
    # (Re)create the venv when missing, broken, moved (absolute shebangs), or made by another Python than $PY.
    if ! "$venv/bin/python" -c '' >/dev/null 2>&1 \
        || ! head -n1 "$venv/bin/pip" 2>/dev/null | grep -qF "#!$venv/bin/python" \
        || [[ "$("$venv/bin/python" -c 'import sys; print(sys.version)')" != "$("$PY" -c 'import sys; print(sys.version)')" ]]; then
        "$PY" -m venv --clear "$venv"
        action="created"
    fi
    rm -f "$stamp"

    # Keep the user's site-packages out; pip's own index/cert settings (pip.conf, PIP_*) still apply.
    if ! PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONNOUSERSITE=1 \
        "$venv/bin/python" -m pip install --quiet --no-input -r "$req"; then
        echo "bootstrap: pip install into $venv failed (see above)" >&2
        return 1
    fi

    want_stamp "$venv" "$req" "$venv/bin/python" >"$stamp.tmp"
    mv "$stamp.tmp" "$stamp"
    echo "bootstrap: $action $venv ($name) with $(grep -Ev '^\s*(#|$)' "$req" | tr '\n' ' ')in $((SECONDS - start)) s"
}

(( $# > 0 )) || set -- dev
todo=()
for name in "$@"; do
    venv="$(venv_of "$name")" || { echo "bootstrap: unknown tool set '$name' (dev, sam, checkov)" >&2; exit 2; }
    req="$SCRIPT_DIR/requirements-$name.txt"
    if up_to_date "$venv" "$req"; then
        echo "bootstrap: $venv is up to date (nothing to do)"
    else
        todo+=("$name")
    fi
done
(( ${#todo[@]} > 0 )) || exit 0

command -v "$PY" >/dev/null 2>&1 || { echo "bootstrap: $PY not found; install Python 3 with the venv module" >&2; exit 1; }

if (( ${#todo[@]} == 1 )); then
    name="${todo[0]}"
    ensure "$name" "$(venv_of "$name")" "$SCRIPT_DIR/requirements-$name.txt"
    exit
fi

# Several venvs to install: in parallel (pip is mostly waiting on downloads and unpacking).
pids=()
for name in "${todo[@]}"; do
    ensure "$name" "$(venv_of "$name")" "$SCRIPT_DIR/requirements-$name.txt" &
    pids+=("$!")
done
status=0
for pid in "${pids[@]}"; do
    wait "$pid" || status=1
done
exit "$status"
