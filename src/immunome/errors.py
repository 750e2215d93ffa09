"""Typed errors and warnings for immunome.

Every error says *where*, *what* and *how to fix*. Catch :class:`ImmunomeError` to catch them all.

Example:
    >>> from immunome.errors import ProtocolError
    >>> try:
    ...     raise ProtocolError("unknown assay 'foo'", allowed=["cytof_pbmc"])
    ... except ProtocolError as e:
    ...     print(e.allowed)
    ['cytof_pbmc']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ImmunomeError(Exception):
    """Base class of every error raised by immunome."""

    exit_code: int = 1

    def __init__(self, message: str, *, allowed: Sequence[Any] | None = None, **context: Any):
        super().__init__(message)
        self.message = message
        self.allowed = list(allowed) if allowed is not None else None
        self.context = context

    def __str__(self) -> str:
        if self.allowed:
            shown = ", ".join(map(str, self.allowed[:20]))
            more = f" (+{len(self.allowed) - 20} more)" if len(self.allowed) > 20 else ""
            return f"{self.message} (allowed: {shown}{more})"
        return self.message


class ProtocolError(ImmunomeError):
    """The study protocol is invalid, unknown, or does not declare something asked of it."""


class UnusableInputError(ImmunomeError):
    """Input cannot be read at all (not a bundle, bad zip, zip-slip, zip bomb, missing manifest)."""

    exit_code = 2


class ValidationFailed(ImmunomeError):
    """A submission bundle has errors; ``.report`` holds every issue found."""

    def __init__(self, message: str, *, report: Any):
        super().__init__(message)
        self.report = report


class StoreError(ImmunomeError):
    """The store cannot be opened, migrated or written."""


class IntegrityError(StoreError):
    """A store or release failed an integrity check."""


class ReleaseError(ImmunomeError):
    """A release is unknown, incomplete or cannot be created."""


class DatasetError(ImmunomeError):
    """A public dataset cannot be found, fetched or verified."""


class SchemaMismatchError(ImmunomeError):
    """Data given to a model does not match the model's input schema."""


class ModelError(ImmunomeError):
    """A model artifact is unknown, tampered with, or cannot be trained."""


class FlowError(ImmunomeError):
    """An FCS file, compensation matrix or gating template cannot be processed."""


class HarmonizeError(ImmunomeError):
    """Harmonisation cannot be fitted or applied."""


class AccessDenied(ImmunomeError):
    """The caller's access tier does not allow this."""


class ImmunomeWarning(UserWarning):
    """Base class of every warning emitted by immunome."""


class ImplausibleValueWarning(ImmunomeWarning):
    """A value is possible but outside the protocol's plausible range."""


class UnknownColumnWarning(ImmunomeWarning):
    """An input column is not used and was ignored."""


class OutOfDistributionWarning(ImmunomeWarning):
    """Rows lie far outside a model's training distribution."""


class ConfoundingWarning(ImmunomeWarning):
    """Site and a protected covariate are confounded; correction was limited."""


__all__ = [name for name in dir() if name.endswith(("Error", "Warning", "Failed", "Denied"))]
