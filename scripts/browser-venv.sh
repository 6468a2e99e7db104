#!/bin/sh
# A Python virtual environment with Selenium for the browser tests, in
# .build/browser-venv. Idempotent: does nothing when it is already there.
set -eu
cd "$(dirname "$0")/.."
VENV=.build/browser-venv
SELENIUM=4.27.1
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import selenium, sys; sys.exit(selenium.__version__ != '$SELENIUM')" 2>/dev/null; then
    exit 0
fi
/usr/bin/python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "selenium==$SELENIUM"
echo "Browser tests: Selenium $SELENIUM in $VENV"
