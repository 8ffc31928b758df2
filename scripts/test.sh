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

# System packages the tests use, installed when missing (as root, with apt): Debian's Chromium
# and its driver for the browser console's tests, PostgreSQL for the database pass.
need=()
command -v chromium >/dev/null && command -v chromedriver >/dev/null \
    || need+=(chromium chromium-driver)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing ${need[*]}"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        "${need[@]}"; } >/dev/null || echo "could not install ${need[*]}" >&2
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
[ "$rc" -eq 0 ] || exit "$rc"

# The same store code on a real PostgreSQL server (Debian's postgresql, a throwaway cluster):
# the tests that write and read the database run again, each in a fresh database.
if [ -z "${SIAGA_SKIP_POSTGRES:-}" ] && [ $# -eq 0 ]; then
    if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        echo "== pytest on PostgreSQL"
        pgdir=$(mktemp -d)
        url=$(bash scripts/postgres.sh start "$pgdir")
        set +e
        SIAGA_TEST_POSTGRES=$url .venv/bin/pytest -q -p no:cacheprovider \
            --hypothesis-profile=ci tests/test_store.py tests/test_ops_store.py \
            tests/test_messages.py tests/test_identity.py tests/test_audit.py \
            tests/test_orders.py tests/test_rollcall.py tests/test_positions.py \
            tests/test_operations.py tests/test_api.py tests/test_e2e.py
        rc=$?
        set -e
        bash scripts/postgres.sh stop "$pgdir"
        rm -rf "$pgdir"
    else
        echo "PostgreSQL is not installed here: its pass was skipped" >&2
    fi
fi
exit "$rc"
