"""Screenshots of the MLflow runs table for docs/TRACKING.md, with headless Chromium.

Run from the project root after some tracked runs (Debian's ``chromium`` package:
``apt-get install chromium``)::

    python docs/mlflow_screenshot.py

It serves ``mlflow ui`` on 127.0.0.1 only, from the project's local store, opens the
experiment's runs table in headless Chromium driven over the DevTools protocol (aiohttp,
installed with MLflow), expands the chosen parent runs, shows the metric and parameter
columns below, and saves one PNG per view under docs/images/.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

PORT, DEBUG_PORT = 5055, 9333
STORE = "sqlite:///mlruns.db"
COLUMNS = ["Dataset", "Source", "Models",  # attribute columns on by default: off
           "best_valid_auc", "valid_auc", "test_auc", "valid_gauc",
           "model.embedding_dim", "model.similarity_input"]
# image -> names of the parent runs to expand (prefix match)
VIEWS = {
    "docs/images/mlflow_runs.png": ["ablation"],
    "docs/images/mlflow_trials.png": ["tuning"],
}
CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--hide-scrollbars", "--window-size=1400,900"]

SELECT_COLUMNS = """(async () => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  document.querySelector('[data-testid=column-selection-dropdown]').click();
  await sleep(1000);
  const input = document.querySelector('input[placeholder="Search columns"]');
  const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
  const done = [];
  for (const name of %s) {
    setValue.call(input, name);
    input.dispatchEvent(new Event('input', {bubbles: true}));
    await sleep(800);
    const node = [...document.querySelectorAll('.du-bois-light-tree-treenode')]
      .find(n => n.textContent.trim() === name);
    const box = node && node.querySelector('.du-bois-light-tree-checkbox');
    if (box) { box.click(); done.push(name); }
    await sleep(300);
  }
  document.querySelector('[data-testid=column-selection-dropdown]').click();
  return JSON.stringify(done);
})()"""

EXPAND = """(async () => {
  const prefixes = %s, done = [];
  const close = document.querySelector('button[aria-label=Close]');  // the assistant panel
  if (close) close.click();
  for (const row of document.querySelectorAll('.ag-row')) {
    const name = row.querySelector('a span') && row.querySelector('a span').textContent;
    const button = row.querySelector('button[data-component-id*=runnamecellrenderer]');
    if (name && button && prefixes.some(p => name.startsWith(p))) { button.click(); done.push(name); }
  }
  return JSON.stringify(done);
})()"""


async def _shoot(url: str, out: str, expand: list[str], env: dict[str, str]) -> None:
    import aiohttp

    profile = tempfile.mkdtemp(prefix="chromium-", dir=env["TMPDIR"])
    browser = subprocess.Popen([*CHROMIUM, f"--user-data-dir={profile}",
                                f"--remote-debugging-port={DEBUG_PORT}", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        for _ in range(100):
            try:
                pages = json.load(urllib.request.urlopen(f"http://127.0.0.1:{DEBUG_PORT}/json"))
                target = next(p for p in pages if p["type"] == "page")["webSocketDebuggerUrl"]
                break
            except (OSError, StopIteration):
                time.sleep(0.3)
        async with aiohttp.ClientSession() as session, session.ws_connect(target, max_msg_size=0) as ws:
            counter = 0

            async def call(method: str, **params):
                nonlocal counter
                counter += 1
                await ws.send_json({"id": counter, "method": method, "params": params})
                while True:
                    message = await ws.receive_json()
                    if message.get("id") == counter:
                        return message.get("result", {})

            await call("Emulation.setDeviceMetricsOverride", width=1400, height=900,
                       deviceScaleFactor=1, mobile=False)
            await call("Page.navigate", url=url)
            await asyncio.sleep(15)
            for script in (SELECT_COLUMNS % json.dumps(COLUMNS), EXPAND % json.dumps(expand)):
                result = await call("Runtime.evaluate", expression=script, awaitPromise=True,
                                    returnByValue=True)
                print(result.get("result", {}).get("value"))  # noqa: T201
                await asyncio.sleep(3)
            shot = await call("Page.captureScreenshot", format="png")
            Path(out).write_bytes(base64.b64decode(shot["data"]))
            print("wrote", out)  # noqa: T201
    finally:
        browser.terminate()
        browser.wait()
        shutil.rmtree(profile, ignore_errors=True)


def main() -> None:
    from mlflow import MlflowClient

    experiment = MlflowClient(STORE).get_experiment_by_name("mmctr").experiment_id
    # everything temporary (browser profile, server scratch) stays under the project
    env = {**os.environ, "TMPDIR": tempfile.mkdtemp(prefix=".screenshot-", dir=".")}
    server = subprocess.Popen(["mlflow", "ui", "--backend-store-uri", STORE,
                               "--host", "127.0.0.1", "--port", str(PORT)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                              start_new_session=True)
    try:
        for _ in range(180):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health")
                break
            except OSError:
                time.sleep(1)
        for out, expand in VIEWS.items():
            url = f"http://127.0.0.1:{PORT}/#/experiments/{experiment}/runs"
            asyncio.run(_shoot(url, out, expand, env))
    finally:
        os.killpg(server.pid, 15)  # the UI and the workers it started
        server.wait()
        shutil.rmtree(env["TMPDIR"], ignore_errors=True)


if __name__ == "__main__":
    main()
