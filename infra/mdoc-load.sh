#!/usr/bin/env bash
# `make mdoc-load`: the mDoc API load driver against a running `make run` (same PORT), with a
# fresh admin token of tenant "load". REQUESTS and CONCURRENCY override the defaults (2,000 and 32).
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/localstack/common.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/statuslist/target}"
require_make_run
cargo build -q -p integration-tests --bin mdoc-load
bearer=$(TENANT=load ROLE=admin ./infra/tenant-token.sh | tail -n1)
"$CARGO_TARGET_DIR/debug/mdoc-load" "http://127.0.0.1:$PORT" "$bearer" "${REQUESTS:-2000}" "${CONCURRENCY:-32}"
