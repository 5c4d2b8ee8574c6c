#!/usr/bin/env bash
# `make bench-publish`: the publisher's cost per list (100,000 and 1,048,576 entries) against
# LocalStack, on a stack of its own (statuslist-bench), with the calls made per publish.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/statuslist/target}"
source infra/stack/env.sh
deploy_stack statuslist-bench bench
cargo build -q -p integration-tests --bin publish-bench
"$CARGO_TARGET_DIR/debug/publish-bench" "${RUNS:-5}"
