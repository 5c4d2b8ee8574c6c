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

./infra/deps.sh
./infra/tools/install.sh
started_localstack=0
if ! healthy; then
    ./infra/localstack/start.sh
    started_localstack=1
fi
server_pid=""
cleanup() {
    trap - EXIT INT TERM
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    if [ "$started_localstack" = 1 ]; then ./infra/localstack/stop.sh; fi
    exit 0
}
trap cleanup EXIT INT TERM

source infra/stack/env.sh
deploy_stack "$STACK" local

echo "run: building the local server"
cargo build -q -p shared --bin statuslist-local
export PUBLIC_BASE_URL="http://127.0.0.1:$PORT" PORT
"$CARGO_TARGET_DIR/debug/statuslist-local" &
server_pid=$!
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$PORT/.well-known/jwks.json" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { echo "run: the server exited during start-up" >&2; exit 1; }
    sleep 0.2
done
cat <<MSG

  The status list API is serving at http://127.0.0.1:$PORT  (LocalStack: $LS_URL, stack: $STACK)

  Try:
    curl -s http://127.0.0.1:$PORT/.well-known/jwks.json

  Ctrl-C stops the server$( [ "$started_localstack" = 1 ] && echo " and LocalStack" ).

MSG
wait "$server_pid"
