#!/usr/bin/env bash
# Property-based API fuzzing: Schemathesis generates requests from openapi.yaml (valid and
# invalid ones) against the whole API served by the local server on the LocalStack test stack,
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

source "$root/infra/stack/env.sh"
deploy_stack statuslist-test test >/dev/null
port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log="$root/.local/api-fuzz-server.log"
# The server logs analytic events instead of sending them (no consumer here).
env -u ANALYTICS_BUS_NAME PORT="$port" PUBLIC_BASE_URL="http://127.0.0.1:$port" RUST_LOG=warn \
    "$bin/statuslist-local" >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 150); do
    curl -fsS "http://127.0.0.1:$port/.well-known/jwks.json" >/dev/null 2>&1 && break
    kill -0 "$server" 2>/dev/null || { cat "$log" >&2; echo "api-fuzz: the server exited" >&2; exit 1; }
    sleep 0.2
done
token=$("$bin/statuslist" tenant token --tenant "fuzz-$RANDOM$RANDOM" --role admin --label api-fuzz | tail -n1)
# One configured docType, so some generated registrations succeed and later calls find data.
curl -fsS -X POST "http://127.0.0.1:$port/v2/credentials/mobile/status-lists/configurations" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"docType":"org.iso.18013.5.1.mDL","timeToLiveDuration":{"hours":1},"expiryDuration":{"days":1},"statusBits":2}' >/dev/null

cd "$root"
# One worker: Hypothesis's lambda descriptions call ast.parse, which CPython 3.11 does not make
# thread-safe ("AST constructor recursion depth mismatch" with several workers).
"$venv/bin/schemathesis" run openapi.yaml \
    --url "http://127.0.0.1:$port" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,response_schema_conformance \
    --max-examples "${FUZZ_EXAMPLES:-40}" \
    --seed "${FUZZ_SEED:-20261122}" \
    --generation-database none \
    --workers 1 \
    --no-color
