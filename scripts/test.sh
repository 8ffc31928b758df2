#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run all checks:
# ruff, mypy --strict on the package, and pytest (warnings are errors; branch coverage floor).
# Used by the README's test command and by CI (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'

# The browser console's tests drive Debian's Chromium; install it when missing and root.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "== installing chromium and chromium-driver (browser tests)"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            chromium chromium-driver; } >/dev/null || echo "chromium could not be installed" >&2
    fi
fi

echo "== ruff"
.venv/bin/ruff check siaga tests bench tools
echo "== mypy --strict"
.venv/bin/mypy --strict siaga
echo "== pytest"
set +e
.venv/bin/pytest -q -p no:cacheprovider --hypothesis-profile=ci --cov=siaga --cov-branch --cov-report=term:skip-covered \
    --cov-fail-under=${SIAGA_COV_MIN:-90} "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure here" >&2
    exit 1
fi
exit "$rc"
