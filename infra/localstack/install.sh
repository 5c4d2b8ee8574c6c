#!/usr/bin/env bash
# Installs LocalStack (host mode, offline) into .local/localstack. Idempotent: a second run
# reuses what is there. Recipe and reasons: ../shared/local-aws.md.
source "$(dirname "$0")/common.sh"

PY="$(find_python313)" || die "Python 3.13 is required (LocalStack fails on 3.11). Install it with pyenv (pyenv install 3.13) or put python3.13 on PATH, or set PYTHON313=/path/to/python3.13."
for tool in java javac jar npm curl; do
    command -v "$tool" >/dev/null || die "'$tool' is required (Debian: apt-get install default-jdk-headless npm curl)."
done
mkdir -p "$LS_HOME" "$CACHE"

ensure_venv "$LS_VENV" "$(dirname "$0")/requirements.txt" "LocalStack, 2-3 minutes the first time" printf %s "$PY"

# DynamoDB: LocalStack would download Java 21, DynamoDB Local and a loader agent from the internet.
# Pre-populate its package folder instead: Debian's JDK 17, the jar from an npm tarball, and a
# no-op agent built here.
lib="$LS_FS/var/lib/localstack/lib"
ddb="$lib/dynamodb-local/2"
if [ ! -f "$ddb/DynamoDBLocal.jar" ]; then
    echo "localstack: preparing DynamoDB Local $DDB_SIM_VERSION"
    tarball="$CACHE/amplify-dynamodb-simulator-$DDB_SIM_VERSION.tgz"
    if [ ! -f "$tarball" ]; then
        (cd "$CACHE" && npm pack --silent "amplify-dynamodb-simulator@$DDB_SIM_VERSION" >/dev/null) \
            || die "npm pack amplify-dynamodb-simulator@$DDB_SIM_VERSION failed"
    fi
    tmp="$(mktemp -d)"
    tar -xzf "$tarball" -C "$tmp"
    mkdir -p "$ddb"
    cp -r "$tmp/package/emulator/." "$ddb/"
    rm -rf "$tmp"
fi
if [ ! -f "$ddb/ddb-local-loader-0.1.jar" ]; then
    tmp="$(mktemp -d)"
    mkdir -p "$tmp/src/noop"
    cat > "$tmp/src/noop/Agent.java" <<'JAVA'
package noop;
public class Agent {
    public static void premain(String args, java.lang.instrument.Instrumentation inst) {}
}
JAVA
    printf 'Premain-Class: noop.Agent\n' > "$tmp/manifest.txt"
    javac -d "$tmp/classes" "$tmp/src/noop/Agent.java"
    jar cfm "$ddb/ddb-local-loader-0.1.jar" "$tmp/manifest.txt" -C "$tmp/classes" .
    rm -rf "$tmp"
fi
if [ ! -e "$lib/java/21" ]; then
    jdk="$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")"
    mkdir -p "$lib/java"
    ln -s "$jdk" "$lib/java/21"
fi
echo "localstack: installed ($LS_VENV)"
