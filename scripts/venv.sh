#!/bin/sh
# A Python virtual environment from PyPI for the tests or the benchmarks, in
# .build/NAME, with exactly the pinned packages given:
#
#   scripts/venv.sh [--python "CANDIDATES"] NAME PACKAGE==VERSION ...
#
# Idempotent: does nothing when .build/NAME already has every PACKAGE at its
# VERSION. A PACKAGE may name extras (`saltyrtc.server[logging]==5.0.1`).
# The Python is /usr/bin/python3 unless --python lists candidates (paths or
# command names, separated by spaces; empty words are skipped): then the
# first one found is used, and when none is found the venv is optional: a
# warning, and the callers run without it (exit 0).
set -eu
cd "$(dirname "$0")/.."

CANDIDATES=""
if [ "${1:-}" = "--python" ]; then
    [ $# -ge 2 ] || { echo "venv.sh: --python needs a list of candidates" >&2; exit 2; }
    CANDIDATES=$2
    shift 2
fi
if [ $# -lt 2 ]; then
    echo "usage: scripts/venv.sh [--python \"CANDIDATES\"] NAME PACKAGE==VERSION ..." >&2
    exit 2
fi
NAME=$1
shift
VENV=.build/$NAME

# The check: every package at exactly its pinned version.
CHECK="import importlib.metadata as m, sys
pins = sys.argv[1:]
def wanted(pin):
    name, _, version = pin.partition('==')
    return name.split('[')[0], version
try:
    sys.exit(any(m.version(n) != v for n, v in map(wanted, pins)))
except m.PackageNotFoundError:
    sys.exit(1)"
for pin in "$@"; do
    case "$pin" in
        *==*) ;;
        *) echo "venv.sh: $pin is not pinned (PACKAGE==VERSION)" >&2; exit 2 ;;
    esac
done
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "$CHECK" "$@" 2>/dev/null; then
    exit 0
fi

PYTHON=/usr/bin/python3
if [ -n "$CANDIDATES" ]; then
    PYTHON=""
    for candidate in $CANDIDATES; do
        if command -v "$candidate" >/dev/null 2>&1; then PYTHON=$candidate; break; fi
    done
    if [ -z "$PYTHON" ]; then
        echo "venv.sh: $NAME: none of these Pythons found: $CANDIDATES; running without it" >&2
        exit 0
    fi
fi

mkdir -p .build
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "$@"
echo "$NAME: $* in $VENV ($("$VENV/bin/python" --version))"
