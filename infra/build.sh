#!/usr/bin/env bash
# `make build`: what `sam deploy` uploads, in two steps, and the figures that matter to operators.
#  1. One workspace build of every function for Lambda (provided.al2023, arm64) with cargo-lambda,
#     offline, in the `deploy` profile (Cargo.toml; the README's profile table says why).
#  2. `sam build`: each function's `BuildMethod: makefile` target (infra/sam/Makefile) copies its
#     bootstrap into .aws-sam/build/<LogicalId>/, beside .aws-sam/build/template.yaml.
# Then one row per function: bootstrap and zip size, and the build's time against its targets.
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/localstack/common.sh
# Its own target dir: cross builds for arm64 never invalidate (or lock) the test build.
export LAMBDA_TARGET_DIR="${LAMBDA_TARGET_DIR:-$HOME/.cache/statuslist/lambda-target}"
# Outside the clone, like the target dir: cargo-zigbuild names its linker wrapper after zig's
# path, and a new path makes cargo rebuild every dependency (a fresh clone's first build took
# 14 minutes instead of 3).
venv="${BUILD_VENV:-$HOME/.cache/statuslist/build-venv}"
reqs="infra/tools/build-requirements.txt"
build_python() { find_python313 || command -v python3; }
ensure_venv "$venv" "$reqs" "cargo-lambda" build_python
./infra/tools/install.sh
rustup target list --installed | grep -q '^aarch64-unknown-linux-gnu$' || rustup target add aarch64-unknown-linux-gnu
export PATH="$venv/bin:$PATH"

functions=()
for dir in functions/*/; do
    [ -f "$dir/Cargo.toml" ] && functions+=("$(basename "$dir")")
done
args=()
for f in "${functions[@]}"; do args+=(--package "$f"); done

# No unwind tables: the deploy profile aborts on panic, so nothing unwinds; the tables were 1.4 MB
# of every bootstrap. (A panic still logs its message and location; Lambda then starts a new
# instance.) Only this target's crates are built with it: test builds unwind and keep them.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="${CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS:--C force-unwind-tables=no}"

start=$(date +%s)
# --disable-optimizations: cargo-lambda would otherwise override the profile with its own release
# settings (thin LTO, one codegen unit), which made a build of every function take most of an hour.
CARGO_TARGET_DIR="$LAMBDA_TARGET_DIR" cargo lambda build --profile deploy --disable-optimizations \
    --arm64 "${args[@]}"
cargo_s=$(( $(date +%s) - start ))

start=$(date +%s)
AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-eu-west-2}" SAM_CLI_TELEMETRY=0 \
    .local/tools-venv/bin/sam build --template template.yaml --build-dir .aws-sam/build >/dev/null
sam_s=$(( $(date +%s) - start ))

.local/tools-venv/bin/python - "$cargo_s" "$sam_s" "${functions[@]}" <<'EOF'
import io, statistics, sys, zipfile
from pathlib import Path

import yaml

cargo_s, sam_s, functions = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
build = Path(".aws-sam/build")


class Loader(yaml.SafeLoader):
    pass


Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
template = yaml.load((build / "template.yaml").read_text(), Loader=Loader)
by_package = {}
for lid, r in template["Resources"].items():
    if r.get("Type") == "AWS::Serverless::Function" and r["Properties"].get("CodeUri") == lid:
        by_package[lid] = build / lid / "bootstrap"

rows = []
for lid, bootstrap in sorted(by_package.items()):
    data = bootstrap.read_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:  # as `sam deploy` packages it
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, data)
    rows.append((lid, len(data), len(out.getvalue())))

MB = 1e6
print(f"make build: {len(functions)} functions, cargo lambda {cargo_s} s (target: 20 min from a cold "
      f"target dir, 2 min after a one-line change in shared), sam build {sam_s} s")
print(f"  {'function (.aws-sam/build/<id>/bootstrap)':<42} {'bootstrap MB':>12} {'zip MB':>8}")
for lid, size, zipped in rows:
    print(f"  {lid:<42} {size / MB:12.2f} {zipped / MB:8.2f}")
sizes = [r[1] for r in rows]
largest = max(rows, key=lambda r: r[1])
median = statistics.median(sizes)
ok = largest[1] <= 8 * MB and median <= 6 * MB
print(f"bootstrap: largest {largest[1] / MB:.2f} MB ({largest[0]}), median {median / MB:.2f} MB "
      f"(targets 8 MB and 6 MB: {'within' if ok else 'NOT within'}); zip median "
      f"{statistics.median(r[2] for r in rows) / MB:.2f} MB")
if len(rows) != len(functions):
    sys.exit(f"make build: {len(functions)} function crates but {len(rows)} functions in .aws-sam/build")
print("next: sam deploy --guided (it uploads .aws-sam/build)")
EOF
