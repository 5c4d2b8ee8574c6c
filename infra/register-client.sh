#!/usr/bin/env bash
# `make register-client CLIENT_ID=<id> JWKS_URI=<url> [FORMAT=statuslist+jwt|statuslist+cwt] [NAME=...]`:
# registers an issuer in the stack that `make run` deployed on LocalStack.
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/localstack/common.sh
: "${CLIENT_ID:?CLIENT_ID=<client id> is required}"
: "${JWKS_URI:?JWKS_URI=<https url of the issuer JWKS> is required}"
local_stack_cli CLIENTS_TABLE ClientsTableName
"$STATUSLIST" client add --id "$CLIENT_ID" --jwks-uri "$JWKS_URI" \
    --format "${FORMAT:-statuslist+jwt}" --name "${NAME:-$CLIENT_ID}"
