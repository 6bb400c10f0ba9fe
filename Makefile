# The documented commands. Each target sets up .venv itself, so a fresh machine needs nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml tools/pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: setup sdk-node browser demo console test test-fast bench lint synth clean

$(STAMP): pyproject.toml tools/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e . -e './tools[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)


# The unmodified @segment/analytics-node the track API is tested against (tests/sdk, npm registry).
SDK_NODE := tests/sdk/node_modules/.package-lock.json
$(SDK_NODE): tests/sdk/package.json tests/sdk/package-lock.json
	cd tests/sdk && npm ci --no-audit --no-fund --loglevel=error
	touch $(SDK_NODE)

sdk-node: $(SDK_NODE)

# Node tools the tests run on the deploy artifacts (asl-validator), pinned by package-lock.json and
# installed into ./node_modules (never globally).
NODE_STAMP := node_modules/.installed-$(shell cat package-lock.json | cksum | cut -d' ' -f1)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	rm -f node_modules/.installed-*
	touch $(NODE_STAMP)

# Debian's chromium for the console's browser tests (tests/console), driven by Playwright's Python client
# with executable_path; Playwright's own browser downloads are never used. CI runs as root; elsewhere sudo.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell test "$$(id -u)" = 0 || echo sudo)

$(CHROMIUM):
	$(SUDO) apt-get update -q
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-noto-cjk

browser: $(CHROMIUM)

setup: $(STAMP) $(NODE_STAMP) sdk-node browser

# The CLI's defaults (120 days, 2,000 customers) take about 30 minutes on the local
# emulation (see docs/measurement.md); the quick start runs the same four months for a 200-customer
# shop, which finishes in about 2.5 minutes.
# --serve keeps the demo shop up afterwards and prints the console's URL and its demo marketer's sign-in.
DEMO_ARGS ?= --days 120 --customers 200

demo: setup
	$(BIN)/kaeri demo $(DEMO_ARGS)

# The same demo, then the stack stays up with the marketer console at http://127.0.0.1:8787/console
# (the demo marketer's sign-in is printed) until Ctrl-C.
console: setup
	$(BIN)/kaeri demo $(DEMO_ARGS) --serve

test: lint
	$(BIN)/python -m pytest -n 2 -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

bench: setup
	$(BIN)/python -m bench

# ruff (lint with a complexity limit, and format), mypy --strict on the runtime package, mypy on the tooling.
lint: setup
	$(BIN)/ruff check layers tools functions infra tests bench
	$(BIN)/ruff format --check layers tools functions infra tests bench
	$(BIN)/mypy --strict -p kaeri
	$(BIN)/mypy -p kaeri_ops

synth: setup
	$(BIN)/python infra/app.py

clean:
	rm -rf $(VENV) build cdk.out .kaeri node_modules
