#!/usr/bin/env bash
# Create (or update) the project's virtualenv in .venv and install chaintrack into it.
# Usage: scripts/setup.sh [EXTRAS]   e.g. scripts/setup.sh dev,all
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-all}"
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
  -c constraints.txt -e ".[${extras}]"
