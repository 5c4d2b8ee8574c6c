#!/usr/bin/env bash
# `make tenant-token TENANT=<name> ROLE=admin|issuer`: issues a bearer token for the mDoc
# management API in the stack that `make run` deployed on LocalStack. The token is the last line
# of output (only its hash is stored).
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/localstack/common.sh
: "${TENANT:?TENANT=<tenant id> is required}"
: "${ROLE:?ROLE=admin|issuer is required}"
stack_env="$ROOT/.local/stack-${STACK:-statuslist-local}.env"
healthy || die "LocalStack is not running: start the stack with 'make run' first"
[ -f "$stack_env" ] || die "no deployed stack ($stack_env): start it with 'make run' first"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/statuslist/target}"
cargo build -q -p statuslist-cli
export TENANTS_TABLE="$(sed -n 's/^TenantsTableName=//p' "$stack_env")"
export AWS_ENDPOINT_URL="$LS_URL" AWS_REGION="${AWS_REGION:-eu-west-2}" \
    AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
"$CARGO_TARGET_DIR/debug/statuslist" tenant token --tenant "$TENANT" --role "$ROLE" --label "${LABEL:-make tenant-token}"
