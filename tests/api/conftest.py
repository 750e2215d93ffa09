"""A real store (built through the public Store API) served by a real uvicorn on loopback."""

from __future__ import annotations

import socket
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _bundles import people, write_bundle  # noqa: E402

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


@pytest.fixture(scope="session")
def store_path(tmp_path_factory) -> Path:
    return build_store(tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="session")
def tokens(store_path) -> dict[str, str]:
    """One token per tier/role; ``researcher_dua`` accepts the DUA through the API later."""
    from immunome.api import AccessStore

    acc = AccessStore(store_path)
    spec = {
        "public": ("public", None),
        "researcher": ("researcher", None),
        "researcher_dua": ("researcher", None),
        "submitter_a": ("submitter", "SITEA"),
        "submitter_b": ("submitter", "SITEB"),
        "admin": ("admin", None),
        "revoked": ("researcher", None),
    }
    out = {}
    for name, (tier, site) in spec.items():
        acc.add_user(name.replace("_", "-"), tier=tier, site=site)
        out[name] = acc.create_token(name.replace("_", "-"))
    acc.revoke(out["revoked"])
    return out


@pytest.fixture(scope="session")
def server(store_path, tokens) -> LiveServer:
    with LiveServer(store_path) as srv:
        r = httpx.post(
            f"{srv.url}/api/v1/me/dua",
            headers={"Authorization": f"Bearer {tokens['researcher_dua']}"},
        )
        assert r.status_code == 201, r.text
        yield srv


@pytest.fixture(scope="session")
def client(server) -> httpx.Client:
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
