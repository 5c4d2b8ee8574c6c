# Status list service. `make help` lists the targets.
SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(HOME)/.cache/statuslist/target
export CARGO_TERM_COLOR ?= never
CARGO ?= cargo
STATUSLIST := $(CARGO_TARGET_DIR)/debug/statuslist

.PHONY: help test test-unit test-rust test-interop lint bench cli run stop localstack-up localstack-down deps

help:
	@echo "make test            every test: lint, unit, CLI, LocalStack integration, independent verifiers"
	@echo "make test-unit       fast tests that need no LocalStack"
	@echo "make bench           criterion benchmark: render + compress + sign a 2^20-entry list"
	@echo "make cli             build the statuslist CLI (release) into $(CARGO_TARGET_DIR)/release"
	@echo "make localstack-up   start LocalStack (host mode, offline) on 127.0.0.1:4566"
	@echo "make localstack-down stop it"
	@echo "make run             (not yet: arrives with the local-stack issue, see README)"

deps:
	@./infra/deps.sh

test: deps lint
	./infra/localstack/with-localstack.sh $(MAKE) --no-print-directory test-rust test-interop

test-rust:
	$(CARGO) test --workspace --all-targets

test-unit:
	$(CARGO) test --workspace --all-targets --exclude integration-tests

test-interop:
	$(CARGO) build -p statuslist-cli
	./tests/interop/run.sh $(STATUSLIST)

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

bench:
	$(CARGO) bench -p shared --bench render

cli:
	$(CARGO) build --release -p statuslist-cli
	@echo "built $(CARGO_TARGET_DIR)/release/statuslist"

localstack-up:
	./infra/localstack/start.sh

localstack-down stop:
	./infra/localstack/stop.sh

run:
	@echo "make run is not available yet: serving the API on the local stack is the next issue." >&2
	@echo "Today: 'make localstack-up' starts LocalStack, 'make cli' builds the statuslist CLI." >&2
	@exit 2
