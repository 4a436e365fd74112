#!/usr/bin/env bash
# Mutation testing of the invariants the product is trusted for (slow: minutes to an hour; not in CI).
# mutmut plants small bugs one at a time in the modules of [tool.mutmut] only_mutate (pyproject.toml: the
# domain, the ledger's chain rules, the sync pusher's decisions, the keypad protocol and its framing, typed bursts
# and bookings, check-in and the window PC's keypad relay), runs the tests that
# cover each one, and the report says, per module, how many were killed.
#   scripts/mutation.sh                 # everything configured
#   scripts/mutation.sh 'kiosk.domain.ledger_rules*'   # only mutants whose name matches (mutmut's own filter)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
rm -rf mutants  # a fresh run: results of an older tree would mislead
"$VENV/bin/mutmut" run "$@" || true  # survivors make mutmut exit non-zero; the report below says how many
"$VENV/bin/python" scripts/mutation_report.py
