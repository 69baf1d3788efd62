#!/usr/bin/env bash
# The main job: the REST service and web console on embedded defaults (SQLite + FAISS
# in the data dir), usable from the first start. Extra arguments go to `clearsight serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/clearsight serve "$@"
