#!/usr/bin/env bash
# `make chaos [CHANGES=2000]`: the fault-injection suite (tests/load/chaos.rs) on a stack of its
# own (statuslist-chaos): deploys the data plane, runs every function of the template as its own
# process behind the API Gateway and CloudFront fronts with the template's event sources and IAM
# (infra/topology), then drives issue, revoke and mDoc status traffic while the topology injects
# faults between the functions and LocalStack. `--short` (make test) runs the same kinds, fewer
# changes. Expects LocalStack up (make chaos wraps it in infra/localstack/with-localstack.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/statuslist/target}"
source infra/stack/env.sh
deploy_stack statuslist-chaos chaos
cargo build -q --workspace --bins
# The suites' lifetimes (a token lives an hour, caches 10 minutes), a re-signing pass every 20 s,
# and lists of this run's own (a reused stack's lists carry an earlier run's CDN address).
start_topology statuslist-chaos chaos 0 "$CARGO_TARGET_DIR/debug" --env "LIST_POOL=chaos-$(date +%s)" \
    --env ALLOW_HTTP_LOOPBACK_JWKS=true --env TOKEN_TTL_SECONDS=600 --env TOKEN_VALIDITY_SECONDS=3600 \
    --schedule-interval 20 --env RESIGN_INTERVAL_SECONDS=20
trap 'kill "$TOPOLOGY_PID" 2>/dev/null; wait "$TOPOLOGY_PID" 2>/dev/null || true' EXIT
export PUBLIC_BASE_URL="$CDN_URL"
"$CARGO_TARGET_DIR/debug/chaos" "$@"
