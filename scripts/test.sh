#!/usr/bin/env bash
# Set up everything the test suite needs, then run lint, type checks and the tests.
# Usage: scripts/test.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev,all
# The web UI's browser tests drive Debian's chromium; install it when missing and allowed to
# (otherwise those tests skip and say why).
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "== installing chromium for the browser tests"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null \
    || echo "could not install chromium: the browser tests will skip"
fi
# The store tests run on SQLite and on a throwaway PostgreSQL cluster (tests/pgserver.py); install
# Debian's postgresql when its binaries are missing and allowed to (otherwise those tests skip
# and say why). CHAINTRACK_TEST_POSTGRES_URI uses an existing server instead.
if [ -z "${CHAINTRACK_TEST_POSTGRES_URI:-}" ] && ! command -v initdb >/dev/null 2>&1 \
  && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
  && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "== installing postgresql for the store tests"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null \
    || echo "could not install postgresql: the PostgreSQL store tests will skip"
fi
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
.venv/bin/pytest "$@"
# In CI, the LangChain tests also run on the lowest versions pyproject.toml allows.
if [ "${CI:-}" = "true" ]; then
  echo "== pytest tests/langchain on the lowest LangChain versions"
  bash scripts/test-lowest.sh
fi
