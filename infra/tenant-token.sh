#!/usr/bin/env bash
# `make tenant-token TENANT=<name> ROLE=admin|issuer`: issues a bearer token for the mDoc
# management API in the stack that `make run` deployed on LocalStack. The token is the last line
# of output (only its hash is stored).
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/localstack/common.sh
: "${TENANT:?TENANT=<tenant id> is required}"
: "${ROLE:?ROLE=admin|issuer is required}"
local_stack_cli TENANTS_TABLE TenantsTableName
"$STATUSLIST" tenant token --tenant "$TENANT" --role "$ROLE" --label "${LABEL:-make tenant-token}"
