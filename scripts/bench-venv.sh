#!/bin/sh
# The real peer the benchmarks measure Samrom against: SaltyRTC server 5.0.1
# (PyPI `saltyrtc.server`, the signalling server behind Threema Web), as a
# black box in its own virtual environment, .build/saltyrtc-venv.
# It needs Python < 3.10 (it passes asyncio `loop=` arguments that 3.10
# removed); this machine image carries pyenv's 3.8. Idempotent.
set -eu
cd "$(dirname "$0")/.."
VENV=.build/saltyrtc-venv
VERSION=5.0.1
if [ -x "$VENV/bin/saltyrtc-server" ] && "$VENV/bin/python" -c "
import importlib.metadata as m, sys
sys.exit(m.version('saltyrtc.server') != '$VERSION')" 2>/dev/null; then
    exit 0
fi
PYTHON=""
for candidate in "${SALTYRTC_PYTHON:-}" "$HOME/.pyenv/versions/3.8.18/bin/python" python3.8 python3.9; do
    if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1; then PYTHON="$candidate"; break; fi
done
if [ -z "$PYTHON" ]; then
    echo "bench-venv: no Python 3.8 or 3.9 found (set SALTYRTC_PYTHON); the benchmarks will run without SaltyRTC" >&2
    exit 0
fi
mkdir -p .build
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "saltyrtc.server[logging]==$VERSION"
echo "Benchmarks: saltyrtc.server $VERSION in $VENV ($("$VENV/bin/python" --version))"
