#!/usr/bin/env bash
# The LocalStack suites: deploys the data plane from template.yaml as a test stack, then runs
# every Rust test against the resources that deployment created. Expects LocalStack to be up
# (infra/localstack/with-localstack.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/stack/env.sh
deploy_stack statuslist-test test
export PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://127.0.0.1:3000}"
cargo test --workspace --all-targets
