#!/usr/bin/env bash
# `make build`: builds every function for Lambda (provided.al2023, arm64) with cargo-lambda,
# offline, and reports each binary's size.
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/localstack/common.sh
# Its own target dir: cross builds for arm64 in release never invalidate (or lock) the test build.
export CARGO_TARGET_DIR="${LAMBDA_TARGET_DIR:-$HOME/.cache/statuslist/lambda-target}"
venv="$ROOT/.local/build-venv"
reqs="infra/tools/build-requirements.txt"
build_python() { find_python313 || command -v python3; }
ensure_venv "$venv" "$reqs" "cargo-lambda" build_python
rustup target list --installed | grep -q '^aarch64-unknown-linux-gnu$' || rustup target add aarch64-unknown-linux-gnu
export PATH="$venv/bin:$PATH"
functions=()
for dir in functions/*/; do
    [ -f "$dir/Cargo.toml" ] && functions+=("$(basename "$dir")")
done
args=()
for f in "${functions[@]}"; do args+=(--package "$f"); done
start=$(date +%s)
cargo lambda build --release --arm64 --output-format zip "${args[@]}"
echo "build: ${#functions[@]} functions in $(( $(date +%s) - start ))s (provided.al2023, arm64)"
printf '  %-24s %12s %12s\n' function bootstrap zip
for f in "${functions[@]}"; do
    dir="$CARGO_TARGET_DIR/lambda/$f"
    zip="$dir/bootstrap.zip"
    size_bin=$(unzip -l "$zip" 2>/dev/null | awk '/bootstrap$/ {print $1}')
    printf '  %-24s %12s %12s\n' "$f" "${size_bin:-?}" "$(stat -c %s "$zip")"
done
