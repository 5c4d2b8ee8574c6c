#!/usr/bin/env bash
# `make register-client CLIENT_ID=<id> JWKS_URI=<url> [FORMAT=statuslist+jwt|statuslist+cwt] [NAME=...]`:
# registers an issuer in the stack that `make run` deployed on LocalStack.
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/localstack/common.sh
: "${CLIENT_ID:?CLIENT_ID=<client id> is required}"
: "${JWKS_URI:?JWKS_URI=<https url of the issuer JWKS> is required}"
stack_env="$ROOT/.local/stack-${STACK:-statuslist-local}.env"
healthy || die "LocalStack is not running: start the stack with 'make run' first"
[ -f "$stack_env" ] || die "no deployed stack ($stack_env): start it with 'make run' first"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/statuslist/target}"
cargo build -q -p statuslist-cli
export CLIENTS_TABLE="$(sed -n 's/^ClientsTableName=//p' "$stack_env")"
export AWS_ENDPOINT_URL="$LS_URL" AWS_REGION="${AWS_REGION:-eu-west-2}" \
    AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
"$CARGO_TARGET_DIR/debug/statuslist" client add --id "$CLIENT_ID" --jwks-uri "$JWKS_URI" \
    --format "${FORMAT:-statuslist+jwt}" --name "${NAME:-$CLIENT_ID}"
