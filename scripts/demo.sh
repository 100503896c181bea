#!/usr/bin/env bash
# Set up chaintrack and run its offline demo (no API keys, no network).
set -euo pipefail
cd "$(dirname "$0")/.."
# `demo`: every extra plus the trained spaCy pipeline the demo's pictures need.
bash scripts/setup.sh demo
exec .venv/bin/chaintrack demo "$@"
