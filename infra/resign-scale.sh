#!/usr/bin/env bash
# `make resign-scale LISTS=10000 RATE=100`: one re-signing pass over LISTS due lists and their
# jobs' signing, against LocalStack, on a stack of its own (statuslist-scale). Prints the pass,
# the signing time, KMS Sign calls per second against RATE, and whether every list was re-signed
# before its deadline (tests/load/resign_scale.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/statuslist/target}"
source infra/stack/env.sh
deploy_stack statuslist-scale scale
cargo build -q -p integration-tests --bin resign-scale
"$CARGO_TARGET_DIR/debug/resign-scale" "${LISTS:-10000}" "${RATE:-100}" "${CONSUMERS:-2}"
