#!/usr/bin/env bash
# Install what the tests need (redis-server for differential tests, Python deps) and run the whole suite
# twice: with the compiled accelerator (when the install built it) and with the pure-Python fallback.
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
python -m ruff check src tests
echo "== type check (mypy: server core, engine, protocol; settings in pyproject.toml)"
python -m mypy src/pyredis/server src/pyredis/engine src/pyredis/protocol
# The first run uses whatever the install built (the accelerator, or pure Python without a compiler).
mode=$(PYTHONPATH=src python -c 'from pyredis import _speedups; print(_speedups.ACTIVE)')
# Both modes run at the same time (most of the suite waits on servers, timers and sockets, so two runs
# share the CPUs well); the pure-Python run's output is printed when both are done. The console's browser
# tests run in a pytest process of their own, after the rest.
BROWSER=tests/test_gateway_browser.py
status=0
if [ "$mode" != python ]; then
    log=$(mktemp)
    PYREDIS_NO_EXTENSIONS=1 python -m pytest -q -p no:cacheprovider --ignore="$BROWSER" "$@" >"$log" 2>&1 &
    fallback=$!
fi
echo "== test suite, hot path: $mode"
python -m pytest -q --ignore="$BROWSER" "$@" || status=1
if [ "$mode" != python ]; then
    wait "$fallback" || status=1
    echo "== test suite, hot path: python (PYREDIS_NO_EXTENSIONS=1)"
    cat "$log"
    rm -f "$log"
fi
echo "== browser tests ($mode)"
python -m pytest -q "$BROWSER" "$@" || status=1
if [ "$mode" != python ]; then
    echo "== browser tests (PYREDIS_NO_EXTENSIONS=1)"
    PYREDIS_NO_EXTENSIONS=1 python -m pytest -q "$BROWSER" "$@" || status=1
fi
exit $status
