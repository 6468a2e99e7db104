# Samrom: two commands.
#   make run   installs what is needed, makes the development certificate and
#              starts a demo server on https://localhost:8443
#   make test  installs what is needed and runs every test
# and, not part of the tests:
#   make bench        the full benchmark suite; rewrites docs/benchmarks.md
#   make bench-quick  a small profile in a few minutes; .build/bench-quick.json
#   make bench-heap   what an idle connection holds, part by part (heaptrack)
#   make fuzz         every libFuzzer harness for 5 minutes
SWIFT ?= swift
PORT ?= 8443
DATA_DIR ?= ./data

.PHONY: run test deps certs build sodium-wasm browser-venv oidc-venv bench-venv invitations-venv bench-build bench bench-quick bench-heap fuzz clean

deps:
	@sh scripts/install-deps.sh

certs: deps
	@sh Certs/make-dev-certs.sh

build: deps
	$(SWIFT) build --product samrom

# The browser's libsodium (Web/lib/sodium.wasm), built from Debian's
# libsodium source; cached, so a no-op when it is up to date.
sodium-wasm: deps
	@sh scripts/build-sodium-wasm.sh

# The Python virtual environments (scripts/venv.sh NAME PACKAGE==VERSION ...),
# each in .build/NAME from PyPI; a no-op when the pinned versions are there.
# Selenium and axe-core (shipped in axe-playwright-python) for the browser tests.
browser-venv: deps
	@sh scripts/venv.sh browser-venv selenium==4.27.1 axe-playwright-python==0.1.8

# An OpenID Connect provider made for testing (oidc-provider-mock), for the
# identity tests.
oidc-venv: deps
	@sh scripts/venv.sh oidc-venv oidc-provider-mock==0.3.4

# SaltyRTC server 5.0.1 for the benchmarks, in .build/saltyrtc-venv. It needs
# Python < 3.10 (it passes asyncio `loop=` arguments that 3.10 removed); this
# machine image carries pyenv's 3.8, SALTYRTC_PYTHON names another. Without
# one the benchmarks run without SaltyRTC.
bench-venv: deps
	@sh scripts/venv.sh --python "$${SALTYRTC_PYTHON:-} $$HOME/.pyenv/versions/3.8.18/bin/python python3.8 python3.9" \
		saltyrtc-venv "saltyrtc.server[logging]==5.0.1"

# A real SMTP server (aiosmtpd) for the invitation e-mail tests, and icalendar
# to read the calendar files the server makes.
invitations-venv: deps
	@sh scripts/venv.sh invitations-venv aiosmtpd==1.4.6 icalendar==7.3.2

run: certs build sodium-wasm
	$(SWIFT) run samrom serve --demo --port $(PORT) --data-dir $(DATA_DIR)

# Every server in the tests binds 127.0.0.1 only; the tests that start a
# browser run in a loopback-only network namespace, so nothing can leave.
# The server tests, the browser ones included, run a second time on
# PostgreSQL 15 (a cluster of their own in a temporary directory;
# SAMROM_TEST_STORE=postgres); SamromClusterTests run two instances on one
# PostgreSQL behind a real HAProxy.
# The bench suite's tiny profile and the cluster suite (a PostgreSQL, HAProxy
# and two servers) load both cores, so each runs on its own rather than
# beside the server tests' timeouts.
#
# Swift Testing starts every test of a run at once, and they share one
# process and two cores: with ~370 tests in flight, a test's socket could
# wait seconds to be scheduled, past its server's 4 s ping deadline and its
# own 10 s waits. At most 8 at a time keep the run as short (the tests mostly
# wait on servers and processes) and each test responsive.
TEST_WIDTH = --experimental-maximum-parallelization-width 8
test: deps sodium-wasm browser-venv oidc-venv bench-venv invitations-venv
	tsc -p Web/jsconfig.json
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build $(TEST_WIDTH) --skip BrowserInteropTests --skip BenchSuiteTests --skip SamromClusterTests
	SAMROM_TEST_STORE=postgres $(SWIFT) test --skip-build $(TEST_WIDTH) --filter SamromServerTests --skip BrowserInteropTests
	$(SWIFT) test --skip-build --filter SamromClusterTests
	$(SWIFT) test --skip-build --filter BenchSuiteTests
	sh scripts/test-api-schema.sh
	sh scripts/in-loopback-netns.sh $(SWIFT) test --skip-build --filter BrowserInteropTests
	SAMROM_TEST_STORE=postgres sh scripts/in-loopback-netns.sh $(SWIFT) test --skip-build --filter BrowserInteropTests
	sh scripts/test-sodium-wasm.sh
	SWIFT=$(SWIFT) sh scripts/fuzz.sh 5

# Every libFuzzer harness for 5 minutes (about 35 minutes in all); fails on
# any finding. `make test` runs each for 5 s, so a crash found once stays found.
fuzz: deps
	SWIFT=$(SWIFT) sh scripts/fuzz.sh 300

# Benchmarks measure release builds; each scenario starts its own servers.
bench-build: deps bench-venv
	$(SWIFT) build -c release --product samrom
	$(SWIFT) build -c release --product samrom-bench

# Without a Python 3.8/3.9 for SaltyRTC, the suite runs without that peer.
BENCH = S=.build/saltyrtc-venv/bin/saltyrtc-server; [ -x $$S ] || S=""; \
	.build/release/samrom-bench run --samrom .build/release/samrom --saltyrtc "$$S"

bench: bench-build
	$(BENCH) --profile full --json .build/bench-full.json --markdown docs/benchmarks.md

bench-quick: bench-build
	$(BENCH) --profile quick --json .build/bench-quick.json

# What an idle connection holds, part by part, for Samrom and the ceiling
# (docs/benchmarks.md): heaptrack records both holding 2,000 connections and
# holding 8; the difference per part, per connection.
HEAP = .build/bench-heap
bench-heap: bench-build
	@EXTRA_PACKAGES=heaptrack sh scripts/install-deps.sh
	rm -rf $(HEAP) && mkdir -p $(HEAP)/2000 $(HEAP)/8
	SAMROM_BENCH_HEAPTRACK=$(HEAP)/2000 .build/release/samrom-bench run --samrom .build/release/samrom --saltyrtc "" \
		--profile quick --only connections --json $(HEAP)/2000/bench.json
	SAMROM_BENCH_HEAPTRACK=$(HEAP)/8 .build/release/samrom-bench run --samrom .build/release/samrom --saltyrtc "" \
		--profile tiny --only connections --json $(HEAP)/8/bench.json
	for server in samrom ceiling; do echo "== $$server"; \
		python3 scripts/heap-breakdown.py $(HEAP)/2000/$$server.raw --per 2000 --baseline $(HEAP)/8/$$server.raw --baseline-per 8; done

clean:
	rm -rf .build
