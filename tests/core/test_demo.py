"""`immunome demo --serve`: the main job ends by serving the portal and printing its URL.

The full demo (10KIP + CMI-PB + models) is run by `.ci/run` exactly as the README states; here we
check the serve ending on a copy of the session's 10KIP store (re-import is a reported no-op).
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_demo_serve_prints_url_and_serves_portal(tenkip_store, require_data, tmp_path):
    store = tmp_path / "demo-store"
    shutil.copytree(tenkip_store.path, store)
    port = _free_port()
    data = require_data("10kip").parent
    cmd = [
        sys.executable,
        "-m",
        "immunome",
        "demo",
        "--store",
        str(store),
        "--data-dir",
        str(data),
        "--no-models",
        "--no-cmipb",
        "--serve",
        "--port",
        str(port),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        url = None
        deadline = time.monotonic() + 600
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            m = re.search(r"serving the portal on (http://\S+)", line)
            url = m.group(1) if m else None
        assert url, "".join(lines)
        out = "".join(lines)
        assert "Datasheet:" in out and "cytof_pbmc" in out
        assert "unchanged" in out  # same content -> same release, reported as such
        for _ in range(200):
            try:
                r = httpx.get(url, timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert r.status_code == 200
        assert "immunome" in r.text.lower()
        api = httpx.get(url.rstrip("/") + "/api/v1/releases", timeout=10)
        assert api.status_code == 200 and api.json()["data"]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
