#!/usr/bin/env bash
# Run the product: the embedded default (hall service on SQLite with the example config,
# everything on this machine). Installs what it needs first.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
exec "$VENV/bin/kiosk" demo "$@"
