#!/usr/bin/env bash
# The whole test suite, as CI runs it. Exit code 5 (no tests collected) is a failure here.
set -uo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest "$@"
rc=$?
if [[ $rc -eq 5 ]]; then echo "no tests were collected: failing" >&2; exit 1; fi
exit $rc
