# Shared settings for the LocalStack scripts. Sourced, not run.
# Everything lives under the project's .local/ (git-ignored) or $HOME/.cache.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LS_HOME="$ROOT/.local/localstack"
LS_VENV="$LS_HOME/venv"
LS_FS="$LS_HOME/fs"
LS_LOG="$LS_HOME/localstack.log"
LS_PID="$LS_HOME/localstack.pid"
LS_HOST="${LOCALSTACK_HOST_ADDR:-127.0.0.1}"
LS_PORT="${LOCALSTACK_PORT:-4566}"
LS_URL="http://$LS_HOST:$LS_PORT"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/statuslist"
DDB_SIM_VERSION="2.9.30"

die() { echo "localstack: $*" >&2; exit 1; }

# ensure_venv VENV REQUIREMENTS NOTE PYTHON_COMMAND...: the virtualenv VENV with REQUIREMENTS
# installed, once per version of that file (a stamp records it). PYTHON_COMMAND prints the
# interpreter to create it with; it runs only when something is to be installed.
ensure_venv() {
    local venv="$1" reqs="$2" note="$3" py stamp
    shift 3
    stamp="$venv/.installed-$(sha256sum "$reqs" | cut -c1-16)"
    [ -f "$stamp" ] && return 0
    echo "installing $(basename "$reqs") into $venv${note:+ ($note)}"
    py="$("$@")" || die "no Python to create $venv with"
    [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$reqs" || die "pip install into $venv failed (see above)"
    touch "$stamp"
}

find_python313() {
    local c
    for c in "${PYTHON313:-}" "$(command -v python3.13 2>/dev/null || true)" \
             "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3; do
        [ -n "$c" ] && [ -x "$c" ] || continue
        # pyenv shims exist for versions that are not installed: ask the interpreter itself.
        if "$c" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 13) else 1)' 2>/dev/null; then
            echo "$c"; return 0
        fi
    done
    return 1
}

healthy() {
    curl -fsS --max-time 2 "$LS_URL/_localstack/health" >/dev/null 2>&1
}

# For drivers that run against `make run`: PORT (default 3000) must serve the API.
require_make_run() {
    PORT="${PORT:-3000}"
    curl -fsS "http://127.0.0.1:$PORT/.well-known/jwks.json" >/dev/null 2>&1 \
        || die "nothing serves http://127.0.0.1:$PORT: start 'make run' (same PORT) first"
}

# For operator commands against the stack `make run` deployed: checks it is up, builds the CLI
# into $STATUSLIST, and exports TABLE_VAR from the stack output OUTPUT, plus the LocalStack
# endpoint and test credentials. Usage: local_stack_cli TABLE_VAR OUTPUT
local_stack_cli() {
    local stack_env="$ROOT/.local/stack-${STACK:-statuslist-local}.env"
    healthy || die "LocalStack is not running: start the stack with 'make run' first"
    [ -f "$stack_env" ] || die "no deployed stack ($stack_env): start it with 'make run' first"
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/statuslist/target}"
    cargo build -q -p statuslist-cli
    STATUSLIST="$CARGO_TARGET_DIR/debug/statuslist"
    export "$1=$(sed -n "s/^$2=//p" "$stack_env")"
    export AWS_ENDPOINT_URL="$LS_URL" AWS_REGION="${AWS_REGION:-eu-west-2}" \
        AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
}
