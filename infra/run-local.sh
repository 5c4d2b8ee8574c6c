#!/usr/bin/env bash
# `make run`: installs what is missing, starts LocalStack, deploys the data plane from
# template.yaml through CloudFormation, and serves the whole API on 127.0.0.1:$PORT with the same
# handler code the Lambdas run. Ctrl-C stops everything it started.
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
server_pid=""
jwks_pid=""
cleanup() {
    trap - EXIT INT TERM
    set +e # stop everything even if one step fails
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
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
echo "run: building the local server and the CLI ($PROFILE profile)"
cargo build -q --profile "$PROFILE" -p shared --bin statuslist-local -p statuslist-cli
CLI="$CARGO_TARGET_DIR/$PROFILE_DIR/statuslist"

# A demo issuer: its key, its JWKS served on loopback, and its registration.
demo="$ROOT/.local/demo"
DEMO_PORT="${DEMO_JWKS_PORT:-$((PORT + 1))}"
mkdir -p "$demo/.well-known"
[ -f "$demo/issuer.pem" ] || "$CLI" keygen --out "$demo/issuer.pem"
"$CLI" jwks --key "$demo/issuer.pem" --kid demo-key > "$demo/.well-known/jwks.json"
python3 -m http.server "$DEMO_PORT" --bind 127.0.0.1 --directory "$demo" >/dev/null 2>&1 &
jwks_pid=$!
"$CLI" client add --id demo-issuer --jwks-uri "http://127.0.0.1:$DEMO_PORT/.well-known/jwks.json" \
    --name "Demo issuer (make run)" >/dev/null

export PUBLIC_BASE_URL="http://127.0.0.1:$PORT" PORT ALLOW_HTTP_LOOPBACK_JWKS=true
# Locally the mDoc API's analytic events are structured log lines (target "analytics") on this
# terminal; the deployed stack sends them to its EventBridge bus.
unset ANALYTICS_BUS_NAME
export METRICS_FILE="$ROOT/.local/local-metrics.json"
"$CARGO_TARGET_DIR/$PROFILE_DIR/statuslist-local" &
server_pid=$!
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$PORT/.well-known/jwks.json" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { echo "run: the server exited during start-up" >&2; exit 1; }
    sleep 0.2
done
cat <<MSG

  The status list API is serving at http://127.0.0.1:$PORT  (LocalStack: $LS_URL, stack: $STACK)

  A demo issuer is registered: client id demo-issuer, key $demo/issuer.pem (kid demo-key),
  JWKS at http://127.0.0.1:$DEMO_PORT/.well-known/jwks.json.

  Try:
    statuslist=$CLI
    TOKEN=\$(\$statuslist request issue --key $demo/issuer.pem --kid demo-key --iss demo-issuer)
    curl -s -X POST http://127.0.0.1:$PORT/issue -H 'Content-Type: application/jwt' --data "\$TOKEN"
    #   -> {"idx":...,"uri":"http://127.0.0.1:$PORT/t/..."}
    curl -s -H 'Accept: application/statuslist+cwt' URI | \$statuslist inspect -
    \$statuslist check URI IDX --jwks http://127.0.0.1:$PORT/.well-known/jwks.json    # VALID
    TOKEN=\$(\$statuslist request revoke --key $demo/issuer.pem --kid demo-key --iss demo-issuer --idx IDX --uri URI)
    curl -s -X POST http://127.0.0.1:$PORT/revoke -H 'Content-Type: application/jwt' --data "\$TOKEN"
    \$statuslist check URI IDX --jwks http://127.0.0.1:$PORT/.well-known/jwks.json    # INVALID
    #   (the publishing pipeline makes it visible within about a second)
    curl -s http://127.0.0.1:$PORT/status-lists                    # every published list
    curl -s "URI?time=\$(date +%s)" | \$statuslist inspect -        # the token valid at a time

  The mDoc management API (bearer token of a tenant; see README "mDoc management API"):
    BEARER=\$(make -s tenant-token TENANT=acme ROLE=admin | tail -n1)
    curl -s -X POST http://127.0.0.1:$PORT/v2/credentials/mobile/status-lists/configurations \\
      -H "Authorization: Bearer \$BEARER" -H 'Content-Type: application/json' \\
      -d '{"docType":"org.iso.18013.5.1.mDL","timeToLiveDuration":{"hours":12},"expiryDuration":{"days":1}}'
    curl -s -X POST http://127.0.0.1:$PORT/v2/credentials/mobile/credentials \\
      -H "Authorization: Bearer \$BEARER" -H 'Content-Type: application/json' -d '{"docType":"org.iso.18013.5.1.mDL"}'
    #   -> {"credentialId":...,"idx":...,"uri":".../v2/credentials/mobile/status-lists/<id>/token",...}
    curl -s -X POST http://127.0.0.1:$PORT/v2/credentials/mobile/CREDENTIAL_ID/status \\
      -H "Authorization: Bearer \$BEARER" -H 'Content-Type: application/json' -d '{"status":"invalid"}'
    curl -s URI | \$statuslist inspect -                                   # the public CWT
    openapi.yaml documents every endpoint.

  Register your own issuer (another terminal):
    make register-client CLIENT_ID=my-issuer JWKS_URI=https://issuer.example/.well-known/jwks.json

  Ctrl-C stops the server$( [ "$started_localstack" = 1 ] && echo " and LocalStack" ).

MSG
wait "$server_pid"
