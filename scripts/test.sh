#!/usr/bin/env bash
# The whole test suite, as CI runs it. Exit code 5 (no tests collected) is a failure here.
set -uo pipefail
cd "$(dirname "$0")/.."

# Real peers the tests talk to, from Debian: Chromium for the console's browser test
# (never a browser download), a GStreamer RTSP server for camera reconnects, Mosquitto
# for the MQTT sink, and opencv-doc for its sample videos (vtest.avi). Installed when we can (root with apt); otherwise those tests skip
# with the reason.
debs=(chromium gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good gstreamer1.0-plugins-base python3-gi mosquitto opencv-doc)
missing=()
for d in "${debs[@]}"; do dpkg -s "$d" >/dev/null 2>&1 || missing+=("$d"); done
if [[ ${#missing[@]} -gt 0 ]] && command -v apt-get >/dev/null && [[ $(id -u) -eq 0 ]]; then
  echo "clearsight test: installing Debian packages for the real-peer tests: ${missing[*]}" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) \
    || echo "clearsight test: could not install ${missing[*]}; the tests that need them will skip" >&2
fi

# The opt-in FaceNet embedder is built for the tests (its conversion and adapter are tested on
# real faces); users only get it when they ask (CLEARSIGHT_FACENET=1). Cached after the first run.
.venv/bin/clearsight build-models --facenet >/dev/null \
  || echo "clearsight test: FaceNet not built; its tests will skip" >&2

.venv/bin/python -m pytest "$@"
rc=$?
if [[ $rc -eq 5 ]]; then echo "no tests were collected: failing" >&2; exit 1; fi
exit $rc
