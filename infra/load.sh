#!/usr/bin/env bash
# `make load`: the /issue load driver against a running `make run` (same PORT), as the demo
# issuer. REQUESTS and CONCURRENCY override the defaults (10,000 and 64).
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/localstack/common.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/statuslist/target}"
require_make_run
cargo build -q -p integration-tests --bin issue-load
"$CARGO_TARGET_DIR/debug/issue-load" "http://127.0.0.1:$PORT/issue" "$ROOT/.local/demo/issuer.pem" demo-key demo-issuer \
    "${REQUESTS:-10000}" "${CONCURRENCY:-64}"
