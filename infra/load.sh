#!/usr/bin/env bash
# `make load`: the /issue load driver against a running `make run` (same PORT), as the demo
# issuer. REQUESTS and CONCURRENCY override the defaults (10,000 and 64).
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/localstack/common.sh
PORT="${PORT:-3000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/statuslist/target}"
curl -fsS "http://127.0.0.1:$PORT/.well-known/jwks.json" >/dev/null 2>&1 \
    || die "nothing serves http://127.0.0.1:$PORT: start 'make run' (same PORT) first"
cargo build -q -p integration-tests --bin issue-load
"$CARGO_TARGET_DIR/debug/issue-load" "http://127.0.0.1:$PORT/issue" "$ROOT/.local/demo/issuer.pem" demo-key demo-issuer \
    "${REQUESTS:-10000}" "${CONCURRENCY:-64}" "$ROOT/.local/local-metrics.json"
