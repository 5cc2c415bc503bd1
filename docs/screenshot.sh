#!/usr/bin/env bash
# Screenshot of the kedro-viz pipeline graph for the README, taken with headless Chromium
# (Debian's `chromium` package: apt-get install chromium). Run from the project root after
# `kedro run`:  bash docs/screenshot.sh
set -euo pipefail
export KEDRO_DISABLE_TELEMETRY=1 DO_NOT_TRACK=true
kedro viz build --include-previews
port=8765
python -m http.server "$port" --bind 127.0.0.1 --directory build >/dev/null 2>&1 &
server=$!
trap 'kill $server' EXIT
sleep 1
profile=$(mktemp -d)
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --window-size=1600,1000 \
  --virtual-time-budget=20000 --screenshot=docs/images/pipeline.png \
  "http://127.0.0.1:$port/?pid=__default__"
rm -rf "$profile"
echo "wrote docs/images/pipeline.png"
