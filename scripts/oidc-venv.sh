#!/bin/sh
# A Python virtual environment with oidc-provider-mock (an OpenID Connect
# provider made for testing relying parties) for the identity tests, in
# .build/oidc-venv. Idempotent: does nothing when it is already there.
set -eu
cd "$(dirname "$0")/.."
VENV=.build/oidc-venv
MOCK=0.3.4
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "
import importlib.metadata as m, sys
sys.exit(m.version('oidc-provider-mock') != '$MOCK')" 2>/dev/null; then
    exit 0
fi
/usr/bin/python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "oidc-provider-mock==$MOCK"
echo "Identity tests: oidc-provider-mock $MOCK in $VENV"
