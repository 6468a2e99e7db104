#!/bin/sh
# Tests the browser's libsodium without a browser:
#  1. Web/lib/sodium.wasm exports exactly the functions Web/lib/sodium.js
#     calls (`ex.NAME`), and imports nothing but WASI;
#  2. libsodium's OWN test suite (test/default/*.c of the same Debian source
#     tree that Web/lib/sodium.wasm is built from) is compiled with the same
#     toolchain and flags to wasm32-wasi command modules and each one is run
#     under the Swift toolchain's `wasmkit`. Each test compares its output
#     with the expected `.exp` file itself and exits non-zero on a mismatch.
# The test programs are cached in .build/sodium-wasm/ (make rebuilds only
# what changed). Exits non-zero if anything fails.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

WORK=$ROOT/.build/sodium-wasm
SRC=$WORK/src/libsodium-1.0.18
TESTS=$SRC/test/default
TOOLCHAIN=/opt/swift/usr/bin
WASMKIT=${WASMKIT:-$TOOLCHAIN/wasmkit}
JOBS=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
START=$(date +%s)

# One line per word of $1 joined by spaces.
words() {
    printf '%s\n' "$1" | tr -s '\n' ' '
}

sh scripts/build-sodium-wasm.sh
if [ ! -f "$WORK/library.stamp" ] || [ ! -d "$TESTS" ]; then
    # sodium.wasm is up to date but the build tree is gone: rebuild it.
    sh scripts/build-sodium-wasm.sh --force
fi

# --- 1. sodium.js and sodium.wasm agree --------------------------------------
# binaryen's wasm-dis lists imports and exports; without it the toolchain's
# llvm-objdump still lists the exported functions.
if command -v wasm-dis >/dev/null 2>&1; then
    wat=$(wasm-dis Web/lib/sodium.wasm)
    exports=$(printf '%s\n' "$wat" | sed -n 's/^ *(export "\([^"]*\)" (func .*/\1/p' | sort -u)
    imports=$(printf '%s\n' "$wat" | sed -n 's/^ *(import "\([^"]*\)" "\([^"]*\)".*/\1.\2/p' | sort -u)
else
    exports=$("$TOOLCHAIN/llvm-objdump" -t Web/lib/sodium.wasm | awk 'NF >= 3 && $(NF-2) == "CODE" {print $NF}' | sort -u)
    imports="(not listed: wasm-dis is missing)"
fi
called=$(grep -o 'ex\.[A-Za-z_][A-Za-z0-9_]*' Web/lib/sodium.js | sed 's/^ex\.//' | grep -v '^memory$' | sort -u)
missing=$(printf '%s\n' "$called" | grep -vxF "$exports" || true)
unused=$(printf '%s\n' "$exports" | grep -vxF "$called" || true)
foreign=$(printf '%s\n' "$imports" | grep -v '^wasi_snapshot_preview1\.\|^(not listed' || true)
if [ -n "$missing" ] || [ -n "$unused" ] || [ -n "$foreign" ]; then
    [ -z "$missing" ] || echo "sodium.js calls functions sodium.wasm does not export: $(words "$missing")" >&2
    [ -z "$unused" ] || echo "sodium.wasm exports functions sodium.js never calls: $(words "$unused")" >&2
    [ -z "$foreign" ] || echo "sodium.wasm imports more than WASI: $(words "$foreign")" >&2
    echo "libsodium-wasm: 0 passed, 1 failed"
    exit 1
fi
echo "sodium.wasm: $(printf '%s\n' "$exports" | wc -l | tr -d ' ') exported functions, exactly those sodium.js calls;" \
    "imports: $(words "$imports")($(wc -c <Web/lib/sodium.wasm | tr -d ' ') bytes)"

# --- 2. libsodium's own test suite --------------------------------------------
names=""
for source in "$TESTS"/*.c; do
    name=${source##*/}
    names="$names ${name%.c}"
done
# wasi-libc keeps signal() in a separate library (sodium_utils2/3 use it).
# shellcheck disable=SC2086
if ! make -C "$TESTS" -j"$JOBS" LIBS=-lwasi-emulated-signal $names >"$WORK/tests-build.log" 2>&1; then
    grep -v 'unknown -z value' "$WORK/tests-build.log" | tail -30 >&2
    echo "libsodium wasm: building the tests failed; log in $WORK/tests-build.log" >&2
    exit 1
fi

# Run them in $JOBS parallel lanes; each lane records one line per test.
RESULTS=$WORK/test-results
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
lane=0
while [ "$lane" -lt "$JOBS" ]; do
    (
        cd "$TESTS"
        i=0
        for name in $names; do
            if [ $((i % JOBS)) -eq "$lane" ]; then
                rm -f "$name.res"
                if "$WASMKIT" run --dir . "./$name" >"$RESULTS/$name.log" 2>&1; then
                    echo "$name" >>"$RESULTS/passed.$lane"
                else
                    echo "$name" >>"$RESULTS/failed.$lane"
                fi
            fi
            i=$((i + 1))
        done
    ) &
    lane=$((lane + 1))
done
wait

total=$(echo "$names" | wc -w | tr -d ' ')
passed=$(cat "$RESULTS"/passed.* 2>/dev/null | wc -l | tr -d ' ')
failed_names=$(cat "$RESULTS"/failed.* 2>/dev/null | sort | tr '\n' ' ')
for name in $failed_names; do
    echo "--- FAIL: $name" >&2
    tail -5 "$RESULTS/$name.log" >&2
done
seconds=$(($(date +%s) - START))
if [ "$passed" -ne "$total" ]; then
    echo "libsodium wasm: $passed/$total tests passed in $seconds s; failed: $failed_names(logs in $RESULTS)"
    echo "libsodium-wasm: $passed passed, $((total - passed)) failed"
    exit 1
fi
echo "libsodium wasm: $passed/$total tests passed in $seconds s"
# The plain closing line that CI reads.
echo "libsodium-wasm: $passed passed, 0 failed"
