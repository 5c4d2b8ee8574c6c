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
    export RESIGN_QUEUE_URL="$ResignQueueUrl" HISTORY_TABLE="$TokenHistoryTableName"
}

# start_topology STACK STAGE API_PORT BIN_DIR [main.py options...]: runs every function of
# template.yaml as its own process behind the API Gateway and CloudFront fronts, with the
# template's event sources and IAM (infra/topology), against the stack deploy_stack deployed.
# Exports API_URL, CDN_URL, TOPOLOGY_CONTROL_URL and TOPOLOGY_PID once it serves.
start_topology() {
    local stack="$1" stage="$2" port="$3" bin="$4" root state
    shift 4
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    state="$root/.local/topology-$stack.json"
    rm -f "$state"
    "$root/.local/tools-venv/bin/python" "$root/infra/topology/main.py" --stack "$stack" --stage "$stage" \
        --api-port "$port" --bin-dir "$bin" --state-file "$state" \
        --log-dir "$root/.local/logs/$stack" "$@" &
    TOPOLOGY_PID=$!
    for _ in $(seq 1 300); do
        [ -s "$state" ] && break
        kill -0 "$TOPOLOGY_PID" 2>/dev/null || { echo "topology: exited during start-up (see .local/logs/$stack/topology.log)" >&2; return 1; }
        sleep 0.2
    done
    [ -s "$state" ] || { echo "topology: not up within 60 s" >&2; return 1; }
    API_URL="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api"])' "$state")"
    CDN_URL="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cdn"])' "$state")"
    TOPOLOGY_CONTROL_URL="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["control"])' "$state")"
    export API_URL CDN_URL TOPOLOGY_CONTROL_URL TOPOLOGY_PID
}

# start_suite_topology STACK STAGE [main.py options...]: start_topology on the debug build with the
# suites' overrides: lifetimes they can wait out (a token lives an hour, caches 10 minutes), a
# re-signing pass every 20 s, plain-HTTP loopback JWKS, and lists of this run's own (a reused
# stack's lists carry an earlier run's CDN address in their URIs). Used by make test and make chaos.
start_suite_topology() {
    local stack="$1" stage="$2"
    shift 2
    start_topology "$stack" "$stage" 0 "$CARGO_TARGET_DIR/debug" --env "LIST_POOL=$stage-$(date +%s)" \
        --env ALLOW_HTTP_LOOPBACK_JWKS=true --env TOKEN_TTL_SECONDS=600 --env TOKEN_VALIDITY_SECONDS=3600 \
        --schedule-interval 20 --env RESIGN_INTERVAL_SECONDS=20 "$@"
}
