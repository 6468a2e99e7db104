# Samrom: two commands.
#   make run   installs what is needed, makes the development certificate and
#              starts a demo server on https://localhost:8443
#   make test  installs what is needed and runs every test
SWIFT ?= swift
PORT ?= 8443
DATA_DIR ?= ./data

.PHONY: run test deps certs build clean

deps:
	@sh scripts/install-deps.sh

certs: deps
	@sh Certs/make-dev-certs.sh

build: deps
	$(SWIFT) build --product samrom

run: certs build
	$(SWIFT) run samrom serve --demo --port $(PORT) --data-dir $(DATA_DIR)

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

clean:
	rm -rf .build
