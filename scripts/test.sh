#!/usr/bin/env bash
# Install what the tests need (redis-server for differential tests, Python deps) and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-benchmark >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
        SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
        $SUDO apt-get update -qq && $SUDO apt-get install -y -qq redis-server redis-tools tcl >/dev/null
    else
        echo "redis-server is required for the differential tests; please install it" >&2
        exit 1
    fi
fi
# The gateway console's browser tests: Debian's chromium, driven by Playwright (no `playwright install`).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
fi
python -m pip install -q -e '.[test,browser]'
exec python -m pytest -q "$@"
