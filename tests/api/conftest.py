"""A real store (built through the public Store API) served by a real uvicorn on loopback."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from .api_support import LiveServer, build_store


@pytest.fixture(scope="session")
def store_path(tmp_path_factory) -> Path:
    return build_store(tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="session")
def model_name(store_path) -> str:
    """A small immune-age model trained and saved through the public ``immunome.models`` API."""
    import immunome
    from immunome.models import save_model, train

    cohort = immunome.open(store_path).release("latest")
    spec = {
        "task": "immune_age",
        "name": "test-age",
        "candidates": {"ridge": {"kind": "ridge", "alpha": 1.0}},
    }
    [model] = train(cohort, spec=spec)
    save_model(model, store_path)
    return model.name


@pytest.fixture(scope="session")
def prediction_csv(tmp_path_factory) -> Path:
    """Five rows with the model's input features (CyTOF % of live PBMC)."""
    f = tmp_path_factory.mktemp("predict") / "rows.csv"
    rows = ["participant_id,t_cell,cd4_t_cell,b_cell,nk_cell,monocyte"]
    rows += [f"X{i},{50 + i},{30 + i},{8 + i / 2},{10 + i},{15 + i}" for i in range(5)]
    f.write_text("\n".join(rows) + "\n")
    return f


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
