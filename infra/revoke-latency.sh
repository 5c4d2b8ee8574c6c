#!/usr/bin/env bash
# `make revoke-latency`: revoke -> visible in S3 latency against a running `make run` (same PORT):
# REVOKES (200) revocations from CONCURRENCY (8) clients as the demo issuer.
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/localstack/common.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/statuslist/target}"
require_make_run
set -a
# shellcheck disable=SC1091
source "$ROOT/.local/stack-${STACK:-statuslist-local}.env"
set +a
export TOKENS_BUCKET="$TokensBucketName" AWS_ENDPOINT_URL="$LS_URL" AWS_REGION="${AWS_REGION:-eu-west-2}"
cargo build -q -p integration-tests --bin revoke-latency
"$CARGO_TARGET_DIR/debug/revoke-latency" "http://127.0.0.1:$PORT" "$ROOT/.local/demo/issuer.pem" demo-key demo-issuer \
    "${REVOKES:-200}" "${CONCURRENCY:-8}"
