#!/usr/bin/env bash
# Runs the independent-verifier suite in a project-local, git-ignored virtualenv.
# Usage: tests/interop/run.sh PATH_TO_STATUSLIST_BINARY
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/.local/interop-venv"
source "$root/infra/localstack/common.sh"
ensure_venv "$venv" "$here/requirements.txt" "" printf %s "${PYTHON:-python3}"
STATUSLIST_BIN="$1" exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$here"
