#!/usr/bin/env bash
# `make build`: `sam build` of the stack (all functions, or the logical ids given), offline, with cargo-lambda and
# zig from the project's .venv-sam (scripts/bootstrap.sh sam) and the arm64 Rust target; then prints each built
# function's size and zipped size (what Lambda receives).
#
#   scripts/sam-build.sh                    # every function
#   scripts/sam-build.sh WebhookFunction    # one (CI builds this one)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/bootstrap.sh" sam >&2
rustup target add aarch64-unknown-linux-gnu >/dev/null

export PATH="$ROOT/.venv-sam/bin:$PATH"
export SAM_CLI_TELEMETRY=0
cd "$ROOT/infra"
start=$SECONDS
sam build "$@"
echo "sam-build: built in $((SECONDS - start)) s"

# Zipped size per function, as `sam deploy` uploads it (deflate, level 9: about what SAM's zip does).
for bootstrap in .aws-sam/build/*/bootstrap; do
    [[ -f "$bootstrap" ]] || continue
    function="$(basename "$(dirname "$bootstrap")")"
    "$ROOT/.venv-sam/bin/python" - "$bootstrap" "$function" <<'PY'
import io, os, sys, zipfile
path, name = sys.argv[1], sys.argv[2]
buffer = io.BytesIO()
with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
    archive.write(path, "bootstrap")
mib = 1024 * 1024
print(f"sam-build: {name:<24} {os.path.getsize(path) / mib:5.1f} MiB, zipped {buffer.tell() / mib:4.2f} MiB")
PY
done
