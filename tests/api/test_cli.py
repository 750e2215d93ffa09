"""``immunome users add|token|revoke|list`` and ``immunome serve`` as real subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from .api_support import free_port

IMMUNOME = [sys.executable, "-m", "immunome"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*IMMUNOME, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_users_lifecycle_and_serve(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    r = run("users", "add", "ada", "--store", str(store), "--tier", "researcher")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["tier"] == "researcher"
    r = run("users", "add", "bob", "--store", str(store), "--tier", "submitter")
    assert r.returncode == 1 and "--site" in r.stderr
    r = run("users", "add", "eve", "--store", str(store), "--tier", "god")
    assert r.returncode == 1 and "allowed: public, researcher, submitter, admin" in r.stderr
    token = run("users", "token", "ada", "--store", str(store)).stdout.strip()
    assert token.startswith("imm_")
    users = [
        json.loads(line) for line in run("users", "list", "--store", str(store)).stdout.splitlines()
    ]
    assert users[0]["name"] == "ada" and users[0]["active_tokens"] == 1

    port = free_port()
    proc = subprocess.Popen(
        [*IMMUNOME, "serve", "--store", str(store), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v1/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        me = httpx.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["data"]["name"] == "ada"
        # revoking with the CLI while the server runs takes effect on the next request
        r = run("users", "revoke", "ada", "--store", str(store))
        assert r.returncode == 0 and "revoked 1" in r.stdout
        me = httpx.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in out
    r = run("users", "revoke", "nobody", "--store", str(store))
    assert r.returncode == 1 and "no live token" in r.stderr
