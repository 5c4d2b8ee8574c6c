#!/usr/bin/env bash
# Installs sam, cfn-lint and boto3 into .local/tools-venv (git-ignored). Idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../localstack/common.sh"
venv="$ROOT/.local/tools-venv"
tools_python() { find_python313 || die "Python 3.13 is required for the template tools (see README)."; }
ensure_venv "$venv" "$here/requirements.txt" "sam, cfn-lint, boto3: about 1.5 minutes the first time" tools_python
