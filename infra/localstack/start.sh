#!/usr/bin/env bash
# Starts LocalStack in host mode on 127.0.0.1:4566 in the background and waits until healthy.
# Reuses a LocalStack that is already up.
source "$(dirname "$0")/common.sh"

if healthy; then
    echo "localstack: already running at $LS_URL"
    exit 0
fi
"$(dirname "$0")/install.sh"
mkdir -p "$LS_FS" "$LS_HOME/cache"
echo "localstack: starting at $LS_URL (log: $LS_LOG)"
(
    cd "$LS_HOME"
    export GATEWAY_LISTEN="$LS_HOST:$LS_PORT" OVERRIDE_IN_DOCKER=0 DNS_ADDRESS=0 DISABLE_EVENTS=1 \
        SKIP_SSL_CERT_DOWNLOAD=1 LOCALSTACK_TELEMETRY=0 FILESYSTEM_ROOT="$LS_FS" \
        XDG_CACHE_HOME="$LS_HOME/cache" EAGER_SERVICE_LOADING=1 \
        SERVICES="${LOCALSTACK_SERVICES:-dynamodb,dynamodbstreams,s3,kms,sqs,cloudformation,apigateway,iam,sts,logs,events,scheduler,cloudwatch,lambda,cloudfront}"
    nohup "$LS_VENV/bin/python" -m localstack.runtime.main >"$LS_LOG" 2>&1 &
    echo $! >"$LS_PID"
)
timeout="${LOCALSTACK_START_TIMEOUT:-180}"
for _ in $(seq 1 "$timeout"); do
    if healthy && grep -q "Ready." "$LS_LOG" 2>/dev/null; then
        echo "localstack: ready"
        exit 0
    fi
    if ! kill -0 "$(cat "$LS_PID")" 2>/dev/null; then
        tail -n 30 "$LS_LOG" >&2 || true
        die "LocalStack exited during start-up (log above: $LS_LOG)"
    fi
    sleep 1
done
tail -n 30 "$LS_LOG" >&2 || true
die "LocalStack not healthy after ${timeout}s at $LS_URL (log: $LS_LOG)"
