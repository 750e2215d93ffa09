"""The registry of pinned public datasets (``sources.yaml``, shipped with the package)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict

from immunome.errors import DatasetError

RAW_URL = "https://raw.githubusercontent.com/{owner_repo}/{commit}/{source}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Repository(_Strict):
    """A source repository pinned at one commit."""

    url: str
    commit: str


class DatasetFile(_Strict):
    """One file of a dataset: local relative path, checksum, and where it lives upstream."""

    path: str
    sha256: str
    size: int
    repo: str | None = None
    source: str | None = None


class Dataset(_Strict):
    """A pinned public dataset.

    Example:
        >>> d = get_dataset("10kip")
        >>> d.repositories["main"].commit[:7], len(d.files) > 10
        ('6164300', True)
    """

    name: str
    title: str
    citation: str
    license: str
    repositories: dict[str, Repository]
    files: list[DatasetFile]

    def file(self, path: str) -> DatasetFile:
        """The registry entry of ``path`` (relative to the dataset root)."""
        for f in self.files:
            if f.path == path:
                return f
        raise DatasetError(
            f"dataset {self.name!r} has no file {path!r}", allowed=[f.path for f in self.files]
        )

    def url(self, f: DatasetFile) -> str | None:
        """Raw download URL of ``f`` at the pinned commit (None: mirror-only file)."""
        if not (f.repo and f.source):
            return None
        repo = self.repositories[f.repo]
        owner_repo = repo.url.removeprefix("https://github.com/").rstrip("/")
        return RAW_URL.format(owner_repo=owner_repo, commit=repo.commit, source=f.source)


@lru_cache(maxsize=1)
def _registry() -> dict[str, Dataset]:
    text = (resources.files("immunome.datasets") / "sources.yaml").read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    return {name: Dataset(name=name, **body) for name, body in doc["datasets"].items()}


def get_dataset(name: str) -> Dataset:
    """Return the registry entry of dataset ``name`` or raise :class:`DatasetError`."""
    reg = _registry()
    if name not in reg:
        raise DatasetError(f"unknown dataset {name!r}", allowed=sorted(reg))
    return reg[name]


def list_datasets() -> list[Dataset]:
    """All pinned datasets, by name.

    Example:
        >>> [d.name for d in list_datasets()]
        ['10kip', 'cmipb', 'flow']
    """
    return [v for _, v in sorted(_registry().items())]
