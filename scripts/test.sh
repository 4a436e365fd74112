#!/usr/bin/env bash
# Run the tests: installs what they need, then lint, type checks and the whole suite.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EXTRA_APT_PACKAGES=(postgresql chromium xvfb)  # a real PostgreSQL for the ledger, a real browser for its pages, a bare X server for the kiosk session
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
"$VENV/bin/ruff" check .
"$VENV/bin/mypy"
exec "$VENV/bin/pytest" -q -p no:cacheprovider "$@"
