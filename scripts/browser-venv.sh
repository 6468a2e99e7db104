#!/bin/sh
# A Python virtual environment with Selenium for the browser tests, in
# .build/browser-venv. Idempotent: does nothing when it is already there.
set -eu
cd "$(dirname "$0")/.."
VENV=.build/browser-venv
SELENIUM=4.27.1
# axe-core (axe.min.js) for the accessibility checks ships in this package.
AXE=0.1.8
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "
import importlib.metadata as m, sys
sys.exit(m.version('selenium') != '$SELENIUM' or m.version('axe-playwright-python') != '$AXE')" 2>/dev/null; then
    exit 0
fi
/usr/bin/python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "selenium==$SELENIUM" "axe-playwright-python==$AXE"
echo "Browser tests: Selenium $SELENIUM and axe-core (axe-playwright-python $AXE) in $VENV"
