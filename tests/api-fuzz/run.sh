#!/usr/bin/env bash
# Property-based API fuzzing: Schemathesis generates requests from openapi.yaml (valid and
# invalid ones) against the whole API as deployed (the topology's API Gateway front, one process
# per function, on the LocalStack test stack),
# with a real tenant bearer token, and fails on any 5xx or any response whose body does not match
# its documented schema. Expects LocalStack up and the test stack deployed (make test does both).
# Usage: tests/api-fuzz/run.sh TARGET_DIR (where statuslist-local and statuslist were built)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$1"
venv="$root/.local/fuzz-venv"
source "$root/infra/localstack/common.sh"
ensure_venv "$venv" "$here/requirements.txt" "" printf %s "${PYTHON:-python3}"

api="$2"
token=$("$bin/statuslist" tenant token --tenant "fuzz-$RANDOM$RANDOM" --role admin --label api-fuzz | tail -n1)
# An active managed IACA (so the tenant has a status list signer) and one configured docType, so
# some generated registrations succeed and later calls find data.
iaca=$(curl -fsS -X POST "$api/v2/credentials/mobile/iacas" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"commonName":"Fuzz IACA","country":"AU"}' | "${PYTHON:-python3}" -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -fsS -X PUT "$api/v2/credentials/mobile/iacas/$iaca" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d '{"active":true}' >/dev/null
curl -fsS -X POST "$api/v2/credentials/mobile/status-lists/configurations" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"docType":"org.iso.18013.5.1.mDL","timeToLiveDuration":{"hours":1},"expiryDuration":{"days":1},"statusBits":2}' >/dev/null

cd "$root"
# One worker: Hypothesis's lambda descriptions call ast.parse, which CPython 3.11 does not make
# thread-safe ("AST constructor recursion depth mismatch" with several workers).
"$venv/bin/schemathesis" run openapi.yaml \
    --url "$api" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,response_schema_conformance \
    --max-examples "${FUZZ_EXAMPLES:-40}" \
    --seed "${FUZZ_SEED:-20261122}" \
    --generation-database none \
    --workers 1 \
    --no-color
