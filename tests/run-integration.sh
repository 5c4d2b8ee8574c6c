#!/usr/bin/env bash
# The LocalStack suites, on the deployed shape: deploys the data plane from template.yaml as a
# test stack, runs every function of the template as its own process behind the API Gateway and
# CloudFront fronts with the template's event sources and IAM (infra/topology), then runs every
# Rust test against it, and finally checks least privilege from what the functions used.
# Expects LocalStack to be up (infra/localstack/with-localstack.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/stack/env.sh
# The store contract suite (tests/contract.rs) runs on a stack of its own that no topology serves.
(deploy_stack statuslist-contract contract >/dev/null)
export CONTRACT_STACK_ENV="$PWD/.local/stack-statuslist-contract.env"
deploy_stack statuslist-test test
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/statuslist/target}"
cargo build --workspace --bins
usage="$PWD/.local/iam-usage-test.json"
rm -f "$usage"
start_suite_topology statuslist-test test --usage-file "$usage"
trap 'kill "$TOPOLOGY_PID" 2>/dev/null; wait "$TOPOLOGY_PID" 2>/dev/null || true' EXIT
export PUBLIC_BASE_URL="$CDN_URL"
if [ "${1:-}" = fuzz ]; then # make test-fuzz: Schemathesis alone
    ./tests/api-fuzz/run.sh "$CARGO_TARGET_DIR/debug" "$API_URL"
    exit 0
fi
cargo test --workspace --all-targets
# The fault-injection suite, short: every fault kind, a few hundred changes (make chaos: 2,000).
"$CARGO_TARGET_DIR/debug/chaos" --short
./.local/tools-venv/bin/python -m unittest discover -s infra/topology -p 'test_*.py'
./tests/api-fuzz/run.sh "$CARGO_TARGET_DIR/debug" "$API_URL"
./infra/topology/iam_enforced.sh statuslist-test "$CARGO_TARGET_DIR/debug"
./.local/tools-venv/bin/python infra/topology/figures.py "$TOPOLOGY_CONTROL_URL"
# Least privilege: every write, delete and kms:Sign right a function holds was used by the suites.
kill "$TOPOLOGY_PID"; wait "$TOPOLOGY_PID" 2>/dev/null || true
trap - EXIT
./.local/tools-venv/bin/python infra/topology/least_privilege.py "$usage"
