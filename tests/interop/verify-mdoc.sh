#!/usr/bin/env bash
# `make verify-mdoc URI=... IDX=... IACA=iaca.pem`: an mDoc list's public CWT checked by
# independent libraries (Python's cryptography, pycose, python-cwt) against the tenant's IACA
# certificate alone (tests/interop/mdoc_chain.py). Prints the status at IDX.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
[ $# -eq 3 ] && [ -n "$1" ] && [ -n "$2" ] && [ -n "$3" ] || {
    echo "usage: make verify-mdoc URI=<token URI> IDX=<index> IACA=<IACA certificate PEM file>" >&2
    exit 2
}
venv="$root/.local/interop-venv"
source "$root/infra/localstack/common.sh"
ensure_venv "$venv" "$here/requirements.txt" "" printf %s "${PYTHON:-python3}" >&2
exec "$venv/bin/python" "$here/mdoc_chain.py" "$1" "$2" "$3"
