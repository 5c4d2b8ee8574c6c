#!/usr/bin/env bash
# Installs sam, cfn-lint and boto3 into .local/tools-venv (git-ignored). Idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../localstack/common.sh"
venv="$ROOT/.local/tools-venv"
stamp="$venv/.installed-$(sha256sum "$here/requirements.txt" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    PY="$(find_python313)" || die "Python 3.13 is required for the template tools (see README)."
    echo "tools: installing sam, cfn-lint, boto3 into $venv (about 1.5 minutes the first time)"
    [ -x "$venv/bin/python" ] || "$PY" -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
    touch "$stamp"
fi
