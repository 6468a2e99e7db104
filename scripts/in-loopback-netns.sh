#!/bin/sh
# Runs a command inside a new network namespace that has only a loopback
# interface, so no test (and no browser a test starts) can reach any network.
# Inside, SAMROM_LOOPBACK_NETNS=1 tells the browser tests they may run.
set -eu
if unshare -n true 2>/dev/null; then
    exec unshare -n sh -c 'ip link set lo up && SAMROM_LOOPBACK_NETNS=1 exec "$@"' sh "$@"
fi
echo "in-loopback-netns: cannot make a network namespace here (not root?); running without one, browser tests skipped" >&2
exec "$@"
