# Sourced. deploy_stack STACK STAGE: deploys the data plane from template.yaml to LocalStack and
# exports the environment the service and the tests read (table names, bucket, key).
deploy_stack() {
    local stack="$1" stage="$2" root
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://127.0.0.1:4566}" AWS_REGION="${AWS_REGION:-eu-west-2}"
    export AWS_DEFAULT_REGION="$AWS_REGION" AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
    export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
    local out="$root/.local/stack-$stack.env"
    "$root/.local/tools-venv/bin/python" "$root/infra/stack/dataplane.py" deploy "$stack" "$out" "Stage=$stage"
    set -a
    # shellcheck disable=SC1090
    source "$out"
    set +a
    export SIGNING_KEY_ID="$SigningKeyId" CLIENTS_TABLE="$ClientsTableName" LISTS_TABLE="$ListsTableName"
    export ENTRIES_TABLE="$EntriesTableName" IDEMPOTENCY_TABLE="$IdempotencyTableName"
    export STATUSES_TABLE="$StatusesTableName" TENANTS_TABLE="$TenantsTableName"
    export CONFIGURATIONS_TABLE="$ConfigurationsTableName" MDOCS_TABLE="$MdocsTableName"
    export ANALYTICS_BUS_NAME="$AnalyticsBusName"
    export TOKENS_BUCKET="$TokensBucketName" PUBLISH_QUEUE_URL="$PublishQueueUrl" STACK_NAME="$stack"
}
