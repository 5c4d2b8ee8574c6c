# Status list service. `make help` lists the targets.
SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(HOME)/.cache/statuslist/target
export CARGO_TERM_COLOR ?= never
CARGO ?= cargo
STATUSLIST := $(CARGO_TARGET_DIR)/debug/statuslist

FUNCTION_PACKAGES := $(patsubst functions/%/Cargo.toml,-p %,$(wildcard functions/*/Cargo.toml))

.PHONY: test-init init-times figures register-client tenant-token verify-mdoc load mdoc-load revoke-latency bench-publish resign-scale chaos capacity help test test-unit test-integration test-interop test-fuzz lint template-lint bench cli build run stop localstack-up localstack-down deps tools

help:
	@echo "make test            every test: lint, unit, CLI, LocalStack integration, independent verifiers"
	@echo "make test-unit       fast tests that need no LocalStack"
	@echo "make bench           our DEFLATE vs zlib 9 on 24 benchmark lists, the CLI process, criterion render + sign"
	@echo "make cli             build the statuslist CLI (release) into $(CARGO_TARGET_DIR)/release"
	@echo "make localstack-up   start LocalStack (host mode, offline) on 127.0.0.1:4566"
	@echo "make localstack-down stop it"
	@echo "make run             LocalStack + data plane from template.yaml + the whole API on 127.0.0.1:3000 (PORT=...)"
	@echo "make stop            stop what make run left behind after a crash"
	@echo "make register-client CLIENT_ID=<id> JWKS_URI=<url> [FORMAT=statuslist+jwt|statuslist+cwt]"
	@echo "make tenant-token TENANT=<name> ROLE=admin|issuer   a management API bearer token (last line)"
	@echo "make verify-mdoc URI=<token URI> IDX=<n> IACA=<pem>  an mDoc CWT checked against an IACA by independent libraries"
	@echo "make load            load driver against make run: 64 clients, 10,000 issues"
	@echo "make revoke-latency  revoke -> visible in S3, p50/p99 over 200 revocations, against make run"
	@echo "make mdoc-load       mDoc API: 2,000 registrations, 200 invalidations, time to visible, against make run"
	@echo "make bench-publish   publisher time and AWS calls per list (100,000 and 1,048,576 entries) on LocalStack"
	@echo "make capacity        the service's code on in-memory stores at its ceiling: issue, revoke, publish per CPU-second"
	@echo "make chaos           issue/revoke/mDoc traffic under injected AWS faults and kill -9: CHANGES=2000, ends lost 0, duplicates 0"
	@echo "make resign-scale    one re-signing pass over LISTS=10000 due lists at RATE=100 KMS Sign/s on LocalStack: time, rate, freshness"
	@echo "make figures         cold start and warm p50/p99 per function of the running make run"
	@echo "make build           every function for Lambda (arm64, one workspace build), then sam build; sizes and times"
	@echo "make init-times      each function's init (first event asked for) with AWS unreachable"

deps:
	@./infra/deps.sh

# The publish test writes the tokens it saw published to PUBLISHED_TOKENS_DIR; the interop suite
# verifies them independently (a fresh directory each run, so stale tokens cannot pass).
test: deps lint template-lint test-init
	rm -rf $(CURDIR)/.local/published-tokens
	PUBLISHED_TOKENS_DIR=$(CURDIR)/.local/published-tokens \
		./infra/localstack/with-localstack.sh $(MAKE) --no-print-directory test-integration test-interop

# Deploys the data plane from template.yaml to LocalStack, then runs every Rust test against it.
test-integration:
	./tests/run-integration.sh

# Schemathesis against openapi.yaml on the topology (LocalStack up).
test-fuzz:
	./tests/run-integration.sh fuzz

# Every function binary asks the Runtime API for its first event with AWS unreachable (no AWS
# call at init, the template's environment is enough). Times are printed, not asserted: see
# `make init-times` for the figures of the deployed profile.
test-init: tools
	$(CARGO) build $(FUNCTION_PACKAGES)
	.local/tools-venv/bin/python infra/topology/init_times.py --runs 1 --bin-dir $(CARGO_TARGET_DIR)/debug

# Init of every function as deployed (the deploy profile, host build): process start to first
# `next`, Runtime API answering, AWS unreachable; median of 15 starts each.
init-times: tools
	$(CARGO) build --profile deploy $(FUNCTION_PACKAGES)
	.local/tools-venv/bin/python infra/topology/init_times.py --runs 15 --bin-dir $(CARGO_TARGET_DIR)/deploy

test-unit:
	$(CARGO) test --workspace --all-targets --exclude integration-tests

test-interop:
	$(CARGO) build --workspace --bins
	./tests/interop/run.sh $(STATUSLIST)

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

tools:
	@./infra/tools/install.sh

# No rule is suppressed: both run clean.
template-lint: tools
	AWS_DEFAULT_REGION=eu-west-2 SAM_CLI_TELEMETRY=0 .local/tools-venv/bin/sam validate --lint -t template.yaml
	AWS_DEFAULT_REGION=eu-west-2 .local/tools-venv/bin/cfn-lint template.yaml

# The encoder against zlib 9 on every benchmark list (and the CLI as a whole process), then
# the criterion stages of a 2^20-entry render.
bench: cli
	STATUSLIST_BIN=$(CARGO_TARGET_DIR)/release/statuslist $(CARGO) bench -p shared --bench compare
	$(CARGO) bench -p shared --bench render

cli:
	$(CARGO) build --release -p statuslist-cli
	@echo "built $(CARGO_TARGET_DIR)/release/statuslist"

localstack-up:
	./infra/localstack/start.sh

localstack-down:
	./infra/localstack/stop.sh

build:
	./infra/build.sh

run:
	./infra/run-local.sh

register-client:
	./infra/register-client.sh

tenant-token:
	@./infra/tenant-token.sh

# An mDoc list's public CWT checked by independent libraries against an IACA certificate.
verify-mdoc:
	@./tests/interop/verify-mdoc.sh "$(URI)" "$(IDX)" "$(IACA)"

load:
	./infra/load.sh

# Cold starts and warm latencies of every function of the running `make run` topology.
figures:
	@.local/tools-venv/bin/python infra/topology/figures.py "$$(python3 -c 'import json; print(json.load(open(".local/topology-statuslist-local.json"))["control"])')"

revoke-latency:
	./infra/revoke-latency.sh

mdoc-load:
	./infra/mdoc-load.sh

bench-publish:
	./infra/localstack/with-localstack.sh ./infra/bench-publish.sh

# The service's own code at its ceiling on the in-memory adapters: issue, revoke, publish per
# CPU-second (the capacity model's CPU figures; README "Scale").
capacity:
	$(CARGO) run --release -q -p shared --example capacity -- $(or $(ISSUES),20000) $(or $(PUBLISHES),400)

chaos:
	./infra/localstack/with-localstack.sh ./infra/chaos.sh $(or $(CHANGES),2000)

resign-scale:
	LISTS=$(or $(LISTS),10000) RATE=$(or $(RATE),100) CONSUMERS=$(or $(CONSUMERS),2) ./infra/localstack/with-localstack.sh ./infra/resign-scale.sh

stop:
	-pkill -f "infra/topology/main.py" || true
	-pkill -f "http.server .* --directory $(CURDIR)/.local/demo" || true
	./infra/localstack/stop.sh
