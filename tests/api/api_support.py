"""Helpers for the API tests: a store built through the public API, a live uvicorn server,
auth headers and the error-shape assertion. (Named ``api_support`` to stay unique on sys.path.)"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

from .api_bundles import people, write_bundle

MAX_UPLOAD = 2 * 1024 * 1024
SITES = {  # site: (female, male) — SITEA's 3 women and SITEC's 1 man are small cells
    "SITEA": (3, 30),
    "SITEB": (20, 25),
    "SITEC": (12, 1),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_store(root: Path) -> Path:
    """Submit one bundle per site, cut a release, derive a ``harmonized`` layer."""
    import immunome

    store_path = root / "store"
    store = immunome.open(store_path)
    for i, (site, (f, m)) in enumerate(SITES.items()):
        b = write_bundle(
            root / "bundles" / site,
            site=site,
            rows=people(site, female=f, male=m, seed=i),
            seed=i,
            shift=5.0 * i,
        )
        store.submit(b)
    store.create_release(label="v1")
    raw = store.release("latest").tidy(layer="raw")
    harmonized = raw.assign(value=raw["value"] * 0.9 + 1.0)
    store.derive_release(
        parent="latest",
        layers={"harmonized": harmonized},
        provenance={"stage": "harmonize", "method": "test-shift"},
    )
    return store_path


class LiveServer:
    """uvicorn running ``create_app(store)`` in a background thread."""

    def __init__(self, store_path: Path, *, max_upload: int = MAX_UPLOAD):
        import uvicorn

        from immunome.api import create_app

        self.store_path = store_path
        self.app = create_app(store_path, max_upload_bytes=max_upload)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cfg = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False
        )
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(r, status: int, code: str) -> dict:
    """Assert the one error shape, the status, the code, and the request id echo."""
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}
    err = body["error"]
    assert set(err) == {"code", "message", "details", "request_id"}
    assert err["code"] == code
    assert err["request_id"] == r.headers["x-request-id"]
    assert err["message"]
    return err
