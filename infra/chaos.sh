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
start_suite_topology statuslist-chaos chaos
trap 'kill "$TOPOLOGY_PID" 2>/dev/null; wait "$TOPOLOGY_PID" 2>/dev/null || true' EXIT
export PUBLIC_BASE_URL="$CDN_URL"
"$CARGO_TARGET_DIR/debug/chaos" "$@"
