#!/bin/sh
# Installs the Debian packages Samrom needs to build, run and test.
# Idempotent: packages already present are not touched, and `apt-get update`
# runs only when something is missing.
set -eu

# wasi-libc … binaryen: scripts/build-sodium-wasm.sh (the browser's libsodium,
# built from Debian's source with the Swift toolchain's clang; binaryen's
# wasm-opt shrinks it, dpkg-dev unpacks the source). chromium … coturn: the
# browser tests (two real browsers, and a real TURN relay for relay-only calls).
# node-typescript: tsc type-checks the browser's ES modules from their JSDoc.
# libqrencode-dev: the TOTP enrolment QR code, made on the server (QRCode.swift);
# zbar-tools and librsvg2-bin: its test renders the SVG and decodes it again.
PACKAGES="libsodium-dev libssl-dev openssl libsqlite3-dev sqlite3 pkg-config curl ca-certificates python3 wasi-libc libclang-rt-16-dev-wasm32 autoconf automake libtool dpkg-dev binaryen chromium chromium-driver coturn iproute2 python3-venv node-typescript postgresql-15 haproxy libqrencode-dev zbar-tools librsvg2-bin"

# `make bench-heap` asks for heaptrack too (the heap breakdown of an idle
# connection, docs/benchmarks.md): EXTRA_PACKAGES="heaptrack".
PACKAGES="$PACKAGES ${EXTRA_PACKAGES:-}"

missing=""
for package in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $package"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

echo "Installing:$missing"
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
