#!/usr/bin/env bash
# Screenshot of the MLflow runs table for the README, taken with headless Chromium
# (Debian's `chromium` package: apt-get install chromium). Run from the project root after
# some tracked runs:  bash docs/mlflow_screenshot.sh
# The UI is served on 127.0.0.1 only, from the project's local store (sqlite:///mlruns.db).
set -euo pipefail
port=${PORT:-5055}
out=${OUT:-docs/images/mlflow_runs.png}
mlflow ui --backend-store-uri sqlite:///mlruns.db --host 127.0.0.1 --port "$port" \
  >/dev/null 2>&1 &
server=$!
trap 'kill $server' EXIT
for _ in $(seq 120); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
  sleep 1
done
experiment=$(python -c "from mlflow import MlflowClient
print(MlflowClient('sqlite:///mlruns.db').get_experiment_by_name('mmctr').experiment_id)")
profile=$(mktemp -d)
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --window-size=1400,900 \
  --virtual-time-budget=30000 --screenshot="$out" \
  "http://127.0.0.1:$port/#/experiments/$experiment${VIEW:-}"
rm -rf "$profile"
echo "wrote $out"
