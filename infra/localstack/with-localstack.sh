#!/usr/bin/env bash
# Runs a command with LocalStack up: reuses a running one, or starts one and stops it afterwards.
source "$(dirname "$0")/common.sh"
started=0
if ! healthy; then
    "$(dirname "$0")/start.sh"
    started=1
fi
cleanup() { if [ "$started" = 1 ]; then "$(dirname "$0")/stop.sh" >/dev/null; fi; }
trap cleanup EXIT
export AWS_ENDPOINT_URL="$LS_URL" AWS_REGION="${AWS_REGION:-eu-west-2}" \
    AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
"$@"
