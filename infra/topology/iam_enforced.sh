#!/usr/bin/env bash
# IAM is enforced as AWS enforces it: with every policy taken out of IssueFunction in a copy of
# template.yaml, POST /issue answers 500 or 503 (its DynamoDB calls are refused), as in AWS.
# Runs a second topology (fronts only) beside the suites' one. Usage: iam_enforced.sh STACK BIN_DIR
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
stack="$1" bin="$2"
copy="$root/.local/template-no-issue-policies.yaml"
"$root/.local/tools-venv/bin/python" - "$root/template.yaml" "$copy" <<'PY'
import sys
text = open(sys.argv[1]).read()
start = text.index("  IssueFunction:\n")
policies = text.index("      Policies:\n", start)
events = text.index("      Events:\n", policies)
open(sys.argv[2], "w").write(text[:policies] + text[events:])
PY
state="$root/.local/topology-iam-check.json"
rm -f "$state"
"$root/.local/tools-venv/bin/python" "$root/infra/topology/main.py" --template "$copy" --stack "$stack" \
    --stage test --api-port 0 --bin-dir "$bin" --state-file "$state" --no-event-sources \
    --log-dir "$root/.local/logs/iam-check" --env ALLOW_HTTP_LOOPBACK_JWKS=true &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do [ -s "$state" ] && break; sleep 0.2; done
api=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api"])' "$state")
key="$root/.local/iam-check.pem"
[ -f "$key" ] || "$bin/statuslist" keygen --out "$key"
token=$("$bin/statuslist" request issue --key "$key" --kid k --iss "iam-check-issuer")
status=$(curl -s -o "$root/.local/iam-check.out" -w '%{http_code}' -X POST "$api/issue" \
    -H 'Content-Type: application/jwt' --data "$token")
case "$status" in
    500|503) echo "iam: without its policies, POST /issue answers $status: $(cat "$root/.local/iam-check.out")" ;;
    *) echo "iam: without its policies, POST /issue answered $status, not 500/503: $(cat "$root/.local/iam-check.out")" >&2; exit 1 ;;
esac
grep -q "AccessDenied" "$root/.local/logs/iam-check/functions.log" \
    || { echo "iam: no AccessDenied in the function's log" >&2; exit 1; }
