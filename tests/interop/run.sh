#!/usr/bin/env bash
# Runs the independent-verifier suite in a project-local, git-ignored virtualenv.
# Usage: tests/interop/run.sh PATH_TO_STATUSLIST_BINARY
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/.local/interop-venv"
py="${PYTHON:-python3}"
stamp="$venv/.installed-$(sha256sum "$here/requirements.txt" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
    touch "$stamp"
fi
STATUSLIST_BIN="$1" exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$here"
