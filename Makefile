# Fieldclose — the two commands a fresh machine needs:
#   make run    install what is missing, build, migrate, load the demo company, serve on :3000
#   make test   install the same plus Chromium, then run every test (Rust, then Playwright e2e)
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

export PATH := $(HOME)/.cargo/bin:$(PATH)
# Outside the clone, so a later clone on the same machine (CI) reuses the build; cargo's
# fingerprints keep that correct.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/fieldclose/target
SITE_ROOT := $(CURDIR)/target/site
SERVER_BIN := $(CARGO_TARGET_DIR)/release/server
E2E_DB ?= fieldclose_e2e

.PHONY: help run test tools db build lint sqlx-prepare unit e2e fuzz chaos browser balancer bench-save bundle-size

help:
	@echo "make run   — build and serve the demo on http://127.0.0.1:3000"
	@echo "make test  — run every test (unit, integration against Postgres, Playwright e2e, API fuzz, chaos)"
	@echo "make bench-save / bundle-size — the device-side figures (save time, first-load size)"

tools:
	@scripts/install-tools.sh

browser:
	@scripts/install-browser.sh

balancer:
	@scripts/install-balancer.sh

# --precompress writes a brotli (quality 11) and a gzip twin of every site file; the server
# sends the brotli one to browsers that accept it (the first load: 27% smaller than gzip -9).
# --split puts each lazy page (app::ui::lazy_pages!) into a wasm chunk of its own.
build: tools
	cargo leptos build --release --precompress --split

run: build
	@url=$$(scripts/ensure-postgres.sh); \
	export DATABASE_URL=$$url LEPTOS_SITE_ROOT=$(SITE_ROOT); \
	$(SERVER_BIN) seed-demo; \
	echo "==> serving on http://$${LEPTOS_SITE_ADDR:-127.0.0.1:3000}  (Ctrl-C stops)"; \
	exec $(SERVER_BIN)

lint: tools
	cargo fmt --all -- --check
	cargo clippy -p server --all-targets -- -D warnings
	cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings
	@url=$$(scripts/sqlx-database.sh); cd server && DATABASE_URL=$$url cargo sqlx prepare --check
	cargo deny --log-level error check bans licenses sources

# Rewrites server/.sqlx (the checked queries' cache) after a query or a migration changed.
sqlx-prepare: tools
	@url=$$(scripts/sqlx-database.sh); cd server && DATABASE_URL=$$url cargo sqlx prepare

unit: tools
	@url=$$(scripts/ensure-postgres.sh); export DATABASE_URL=$$url; \
	cargo test -p app --features ssr; \
	cargo test -p server

e2e: build browser
	@url=$$(scripts/ensure-postgres.sh); base=$${url%/*}; \
	export DATABASE_URL=$$base/$(E2E_DB) LEPTOS_SITE_ROOT=$(SITE_ROOT) FIELDCLOSE_BIN=$(SERVER_BIN); \
	psql "$$base/postgres" -qc "drop database if exists $(E2E_DB) with (force)"; \
	$(SERVER_BIN) seed-demo; \
	cd end2end && npx playwright test

# The bounded OpenAPI fuzz pass: schemathesis against the release server (scripts/fuzz-api.sh).
fuzz: build
	@url=$$(scripts/ensure-postgres.sh); \
	DATABASE_URL=$$url FIELDCLOSE_BIN=$(SERVER_BIN) scripts/fuzz-api.sh

# Fault tests: devices sync through cut connections while the release server is killed with
# SIGKILL and restarted (server/tests/api/chaos.rs).
# Then a rolling restart: three processes behind nginx, each restarted in turn under 200 devices
# (server/tests/api/chaos_rolling.rs).
chaos: build balancer
	@url=$$(scripts/ensure-postgres.sh); export DATABASE_URL=$$url FIELDCLOSE_BIN=$(SERVER_BIN); \
	export PATH=$$PATH:/usr/sbin; \
	cargo test -p server --test api chaos -- --ignored --nocapture --test-threads 1

test: lint unit e2e fuzz chaos

# Device-side figures (not part of `make test`): time to save a step locally, bundle size.
bench-save: build browser
	@url=$$(scripts/ensure-postgres.sh); base=$${url%/*}; \
	export DATABASE_URL=$$base/$(E2E_DB) LEPTOS_SITE_ROOT=$(SITE_ROOT) FIELDCLOSE_BIN=$(SERVER_BIN); \
	$(SERVER_BIN) seed-demo; \
	cd end2end && npx playwright test --config bench.config.ts

bundle-size: build
	@scripts/bundle-size.sh $(SITE_ROOT)/pkg
