# Samrom: two commands.
#   make run   installs what is needed, makes the development certificate and
#              starts a demo server on https://localhost:8443
#   make test  installs what is needed and runs every test
SWIFT ?= swift
PORT ?= 8443
DATA_DIR ?= ./data

.PHONY: run test deps certs build sodium-wasm browser-venv clean

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

# Selenium for the browser tests, in .build/browser-venv (from PyPI).
browser-venv: deps
	@sh scripts/browser-venv.sh

run: certs build sodium-wasm
	$(SWIFT) run samrom serve --demo --port $(PORT) --data-dir $(DATA_DIR)

# Every server in the tests binds 127.0.0.1 only; the tests that start a
# browser run in a loopback-only network namespace, so nothing can leave.
test: deps sodium-wasm browser-venv
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --skip BrowserInteropTests
	sh scripts/in-loopback-netns.sh $(SWIFT) test --skip-build --filter BrowserInteropTests
	sh scripts/test-sodium-wasm.sh

clean:
	rm -rf .build
