#!/usr/bin/env bash
# Set up chaintrack and run its offline demo (no API keys, no network).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh all
exec .venv/bin/chaintrack demo "$@"
