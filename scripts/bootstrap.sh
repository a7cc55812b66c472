#!/usr/bin/env bash
# Create/refresh the project-local Python virtualenv (<repo>/.venv) with the pinned dev tools
# from scripts/requirements-dev.txt (moto[server], cfn-lint).
#
# Idempotent and fast when already done: a stamp file (.venv/.wavault-stamp) holds a hash of the
# requirements and the interpreter version; when it matches, nothing is installed.
# Needs only python3 (with the venv module) and PyPI. Never uses any system-wide moto.
#
# Environment:
#   WAVAULT_PYTHON   interpreter used to create the venv (default: python3)
#   WAVAULT_VENV     venv location (default: <repo>/.venv)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
VENV="${WAVAULT_VENV:-$ROOT/.venv}"
REQ="$SCRIPT_DIR/requirements-dev.txt"
STAMP="$VENV/.wavault-stamp"
PY="${WAVAULT_PYTHON:-python3}"

want_stamp() {
    # Hash of: stamp format version, venv path (its scripts' shebangs are absolute), the venv's
    # interpreter version (a venv made by another Python must be rebuilt) and the requirements.
    local pyver
    pyver="$("$1" -c 'import sys; print(sys.version)' 2>/dev/null || echo none)"
    { echo "wavault-venv-v1"; echo "$VENV"; echo "$pyver"; cat "$REQ"; } | sha256sum | cut -d' ' -f1
}

up_to_date() {
    [[ -x "$VENV/bin/python" && -f "$STAMP" ]] || return 1
    [[ "$(cat "$STAMP")" == "$(want_stamp "$VENV/bin/python")" ]]
}

# Fast path: nothing to do.
if up_to_date; then
    echo "bootstrap: $VENV is up to date (nothing to do)"
    exit 0
fi

command -v "$PY" >/dev/null 2>&1 || { echo "bootstrap: $PY not found; install Python 3 with the venv module" >&2; exit 1; }

# Serialize concurrent bootstraps (e.g. parallel test runs); re-check once we hold the lock.
# The lock lives outside the venv, which may be wiped below.
LOCK="${TMPDIR:-/tmp}/wavault-bootstrap-$(printf '%s' "$VENV" | sha256sum | cut -c1-16).lock"
exec 9>"$LOCK"
if command -v flock >/dev/null 2>&1; then
    flock 9
    if up_to_date; then
        echo "bootstrap: $VENV is up to date (done by a concurrent run)"
        exit 0
    fi
fi

start=$SECONDS
action="updated"
# (Re)create the venv when missing, broken, moved (absolute shebangs), or made by another Python than $PY.
if ! "$VENV/bin/python" -c '' >/dev/null 2>&1 \
    || ! head -n1 "$VENV/bin/pip" 2>/dev/null | grep -qF "#!$VENV/bin/python" \
    || [[ "$("$VENV/bin/python" -c 'import sys; print(sys.version)')" != "$("$PY" -c 'import sys; print(sys.version)')" ]]; then
    "$PY" -m venv --clear "$VENV"
    action="created"
fi
rm -f "$STAMP"

# Keep the user's site-packages out; pip's own index/cert settings (pip.conf, PIP_*) still apply.
export PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONNOUSERSITE=1
if ! "$VENV/bin/python" -m pip install --quiet --no-input -r "$REQ"; then
    echo "bootstrap: pip install failed (see above)" >&2
    exit 1
fi

want_stamp "$VENV/bin/python" >"$STAMP.tmp"
mv "$STAMP.tmp" "$STAMP"
echo "bootstrap: $action $VENV with $(grep -Ev '^\s*(#|$)' "$REQ" | tr '\n' ' ')in $((SECONDS - start)) s"
