#!/bin/sh
# Runs every libFuzzer harness (Sources/SamromFuzzHarnesses) for a set time
# and fails on any crash or broken invariant:
#
#   sh scripts/fuzz.sh [seconds-per-harness]     (default 60)
#
# Builds `samrom-fuzz` with -sanitize=fuzzer,address into .build-fuzz (apart
# from .build: every module is instrumented), then runs each harness on a
# copy of Tests/Fuzz/corpus/<harness> (with Tests/Fuzz/dict/<harness>.dict)
# in a temporary folder, so nothing is written into the repository. A finding is left in that folder, and its
# path printed; replay it with `swift run samrom-fuzz <harness> <file>`, and
# add it to Tests/Fuzz/corpus/<harness>/ with the fix.
set -eu
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
SWIFT=${SWIFT:-swift}
SCRATCH=.build-fuzz

# -parse-as-library: libFuzzer's main drives the harness, not a Swift one.
# -enable-testing: one harness reads an internal of SamromCore.
$SWIFT build --scratch-path "$SCRATCH" -c release --product samrom-fuzz \
    -Xswiftc -DFUZZING -Xswiftc -sanitize=fuzzer,address \
    -Xswiftc -parse-as-library -Xswiftc -enable-testing
BIN="$SCRATCH/release/samrom-fuzz"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/samrom-fuzz.XXXXXX")
# A finding is a trap; the Swift runtime's backtracer would otherwise read
# memory ASan guards and report itself instead.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0}"

HARNESSES=$(SAMROM_FUZZ=list "$BIN")
failed=""
echo "fuzzing $(echo "$HARNESSES" | wc -l) harnesses for ${SECONDS_EACH}s each in $WORK"
while read -r name maxlen; do
    dir="$WORK/$name"
    mkdir -p "$dir/corpus"
    cp Tests/Fuzz/corpus/"$name"/* "$dir/corpus/" 2>/dev/null || true
    dict=""
    [ -f "Tests/Fuzz/dict/$name.dict" ] && dict="-dict=Tests/Fuzz/dict/$name.dict"
    status=0
    # shellcheck disable=SC2086 # $dict is one word or none
    SAMROM_FUZZ="$name" "$BIN" "$dir/corpus" $dict \
        -max_total_time="$SECONDS_EACH" -max_len="$maxlen" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$dir/" >"$dir/log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log")
    new=$(sed -n 's/^stat::new_units_added: *//p' "$dir/log")
    cov=$(grep -o 'cov: [0-9]*' "$dir/log" | tail -n 1 | cut -d' ' -f2)
    finding=$(ls "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* "$dir"/oom-* 2>/dev/null | head -n 1 || true)
    if [ "$status" -eq 0 ] && [ -z "$finding" ]; then
        result="ok"
    else
        result="FAILED (exit $status): ${finding:-see $dir/log}"
        failed="$failed $name"
    fi
    printf '%-15s %10s runs %7s/s  coverage %5s  %4s new inputs  %s\n' \
        "$name" "${runs:-?}" "${speed:-?}" "${cov:-?}" "${new:-?}" "$result"
    if [ -n "$finding" ] || [ "$status" -ne 0 ]; then
        grep -E 'Fatal error|ERROR: |SUMMARY' "$dir/log" | head -n 5 | sed 's/^/    /'
        echo "    log: $dir/log"
    fi
done <<EOF
$HARNESSES
EOF

if [ -n "$failed" ]; then
    echo "fuzzing found problems in:$failed (inputs and logs in $WORK)"
    exit 1
fi
rm -rf "$WORK"
