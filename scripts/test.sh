#!/usr/bin/env bash
# The whole test suite, as CI runs it. Exit code 5 (no tests collected) is a failure here.
set -uo pipefail
cd "$(dirname "$0")/.."

# The console's browser test drives Debian's Chromium (never a browser download).
# Installed when we can (root with apt); otherwise those tests skip with the reason.
if [[ ! -x /usr/bin/chromium ]] && command -v apt-get >/dev/null && [[ $(id -u) -eq 0 ]]; then
  echo "clearsight test: installing Debian chromium for the browser tests" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "clearsight test: could not install chromium; browser tests will skip" >&2
fi

.venv/bin/python -m pytest "$@"
rc=$?
if [[ $rc -eq 5 ]]; then echo "no tests were collected: failing" >&2; exit 1; fi
exit $rc
