#!/usr/bin/env bash
# `make run`: installs what is missing, starts LocalStack, deploys the data plane from
# template.yaml through CloudFormation, builds every function, and runs them as SAM deploys them
# (infra/topology): the API on 127.0.0.1:$PORT, the token CDN on 127.0.0.1:$((PORT+2)).
# Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/localstack/common.sh
PORT="${PORT:-3000}"
STACK="${STACK:-statuslist-local}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/statuslist/target}"

if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"; then
    die "something already listens on 127.0.0.1:$PORT: stop it ('make stop') or choose another PORT"
fi
./infra/deps.sh
./infra/tools/install.sh
started_localstack=0
if ! healthy; then
    ./infra/localstack/start.sh
    started_localstack=1
fi
topology_pid=""
jwks_pid=""
cleanup() {
    trap - EXIT INT TERM
    set +e # stop everything even if one step fails
    [ -n "$topology_pid" ] && kill "$topology_pid" 2>/dev/null && wait "$topology_pid" 2>/dev/null
    [ -n "$jwks_pid" ] && kill "$jwks_pid" 2>/dev/null
    if [ "$started_localstack" = 1 ]; then ./infra/localstack/stop.sh; fi
    exit 0
}
trap cleanup EXIT INT TERM

source infra/stack/env.sh
deploy_stack "$STACK" local

# PROFILE=release for benchmarks (slower first build); the default debug build starts soonest.
PROFILE="${PROFILE:-dev}"
PROFILE_DIR=$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")
echo "run: building every function and the CLI ($PROFILE profile)"
cargo build -q --profile "$PROFILE" --workspace --bins
CLI="$CARGO_TARGET_DIR/$PROFILE_DIR/statuslist"
[ -x "$CLI" ] || die "the CLI was not built at $CLI"

# A demo issuer: its key, its JWKS served on loopback, and its registration.
demo="$ROOT/.local/demo"
DEMO_PORT="${DEMO_JWKS_PORT:-$((PORT + 1))}"
CDN_PORT="${CDN_PORT:-$((PORT + 2))}"
mkdir -p "$demo/.well-known"
[ -f "$demo/issuer.pem" ] || "$CLI" keygen --out "$demo/issuer.pem"
"$CLI" jwks --key "$demo/issuer.pem" --kid demo-key > "$demo/.well-known/jwks.json"
python3 -m http.server "$DEMO_PORT" --bind 127.0.0.1 --directory "$demo" >/dev/null 2>&1 &
jwks_pid=$!
"$CLI" client add --id demo-issuer --jwks-uri "http://127.0.0.1:$DEMO_PORT/.well-known/jwks.json" \
    --name "Demo issuer (make run)" >/dev/null

# Every function of template.yaml as its own process, behind the API Gateway front on $PORT and
# the CloudFront front on $CDN_PORT, fed by the template's event sources, IAM enforced. Local
# overrides: the demo issuer's JWKS is plain HTTP on loopback; the hourly re-sign schedule runs
# every RESIGN_INTERVAL_SECONDS (60), and the functions size their margins by it.
RESIGN_INTERVAL_SECONDS="${RESIGN_INTERVAL_SECONDS:-60}"
start_topology "$STACK" local "$PORT" "$CARGO_TARGET_DIR/$PROFILE_DIR" --cdn-port "$CDN_PORT" \
    --env ALLOW_HTTP_LOOPBACK_JWKS=true --schedule-interval "$RESIGN_INTERVAL_SECONDS" \
    --env RESIGN_INTERVAL_SECONDS="$RESIGN_INTERVAL_SECONDS" \
    --usage-file "$ROOT/.local/iam-usage-local.json"
topology_pid="$TOPOLOGY_PID"
cat <<MSG

  The status list API is serving at http://127.0.0.1:$PORT  (LocalStack: $LS_URL, stack: $STACK)
  as deployed: one process per function (API Gateway front), tokens on the CDN front at $CDN_URL.
  Function logs: .local/logs/$STACK/functions.log; figures: curl -s $TOPOLOGY_CONTROL_URL/stats

  A demo issuer is registered: client id demo-issuer, key $demo/issuer.pem (kid demo-key),
  JWKS at http://127.0.0.1:$DEMO_PORT/.well-known/jwks.json.

  Try:
    statuslist=$CLI
    TOKEN=\$(\$statuslist request issue --key $demo/issuer.pem --kid demo-key --iss demo-issuer)
    curl -s -X POST http://127.0.0.1:$PORT/issue -H 'Content-Type: application/jwt' --data "\$TOKEN"
    #   -> {"idx":...,"uri":"$CDN_URL/t/..."}   (the list's first token is published within a second)
    curl -s URI.cwt | \$statuslist inspect -                       # the CWT, from the CDN
    \$statuslist check URI IDX --jwks http://127.0.0.1:$PORT/.well-known/jwks.json    # VALID
    TOKEN=\$(\$statuslist request revoke --key $demo/issuer.pem --kid demo-key --iss demo-issuer --idx IDX --uri URI)
    curl -s -X POST http://127.0.0.1:$PORT/revoke -H 'Content-Type: application/jwt' --data "\$TOKEN"
    \$statuslist check URI IDX --jwks http://127.0.0.1:$PORT/.well-known/jwks.json    # INVALID
    #   (the publishing pipeline makes it visible within about a second)
    curl -s http://127.0.0.1:$PORT/status-lists                    # every published list
    curl -s "http://127.0.0.1:$PORT/t/LIST_ID?time=\$(date +%s)" | \$statuslist inspect -   # valid at a time (API)

  The mDoc management API (bearer token of a tenant; see README "mDoc management API"):
    BEARER=\$(make -s tenant-token TENANT=acme ROLE=admin | tail -n1)
    curl -s -X POST http://127.0.0.1:$PORT/v2/credentials/mobile/iacas \\
      -H "Authorization: Bearer \$BEARER" -H 'Content-Type: application/json' \\
      -d '{"commonName":"Example IACA","country":"AU"}'     # a managed IACA: its key in KMS
    #   -> {"id":...,"active":false,"isManaged":true,"certificatePem":"-----BEGIN CERTIFICATE-----...}
    curl -s -X PUT http://127.0.0.1:$PORT/v2/credentials/mobile/iacas/IACA_ID \\
      -H "Authorization: Bearer \$BEARER" -H 'Content-Type: application/json' -d '{"active":true}'
    curl -s http://127.0.0.1:$PORT/v2/credentials/mobile/status-list-signers -H "Authorization: Bearer \$BEARER"
    #   -> its status list signer, issued on activation: {"data":[{"active":true,"isManaged":true,"certificatePem":...}]}
    curl -s -X POST http://127.0.0.1:$PORT/v2/credentials/mobile/status-lists/configurations \\
      -H "Authorization: Bearer \$BEARER" -H 'Content-Type: application/json' \\
      -d '{"docType":"org.iso.18013.5.1.mDL","timeToLiveDuration":{"hours":12},"expiryDuration":{"days":1}}'
    curl -s -X POST http://127.0.0.1:$PORT/v2/credentials/mobile/credentials \\
      -H "Authorization: Bearer \$BEARER" -H 'Content-Type: application/json' -d '{"docType":"org.iso.18013.5.1.mDL"}'
    #   -> {"credentialId":...,"idx":...,"uri":".../v2/credentials/mobile/status-lists/<id>/token",...}
    curl -s -X POST http://127.0.0.1:$PORT/v2/credentials/mobile/CREDENTIAL_ID/status \\
      -H "Authorization: Bearer \$BEARER" -H 'Content-Type: application/json' -d '{"status":"invalid"}'
    curl -s URI | \$statuslist inspect -                      # the public CWT, x5chain in its header
    curl -s http://127.0.0.1:$PORT/v2/credentials/mobile/iacas/IACA_ID -H "Authorization: Bearer \$BEARER" \\
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["certificatePem"])' > iaca.pem
    \$statuslist check URI IDX --iaca iaca.pem        # INVALID: x5chain -> IACA, then the signature
    make -s verify-mdoc URI=URI IDX=IDX IACA=iaca.pem  # the same with Python's cryptography and pycose (a non-zero exit when not VALID)
    openapi.yaml documents every endpoint.

  Register your own issuer (another terminal):
    make register-client CLIENT_ID=my-issuer JWKS_URI=https://issuer.example/.well-known/jwks.json

  Ctrl-C stops the server$( [ "$started_localstack" = 1 ] && echo " and LocalStack" ).

MSG
wait "$topology_pid"
