#!/usr/bin/env bash
# Stops the LocalStack that start.sh started (and anything left of it after a crash).
source "$(dirname "$0")/common.sh"

if [ -f "$LS_PID" ]; then
    pid="$(cat "$LS_PID")"
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$LS_PID"
fi
# Children (DynamoDB Local's JVM) are started from our venv/fs; stop any that outlived the parent.
pkill -f "$LS_VENV/bin/python -m localstack" 2>/dev/null || true
pkill -f "$LS_FS/var/lib/localstack/lib/dynamodb-local" 2>/dev/null || true
echo "localstack: stopped"
