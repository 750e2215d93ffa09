"""REST API, web portal and tiered access for an immunome store.

Example:
    >>> from immunome.api import create_app, serve
    >>> app = create_app("my-store")                     # doctest: +SKIP
    >>> serve("my-store", host="127.0.0.1", port=8000)   # doctest: +SKIP
"""

from immunome.api._access import TIERS, AccessStore, Caller
from immunome.api._app import API_PREFIX, create_app, serve
from immunome.api._audit import AuditLog
from immunome.api._suppress import suppress

__all__ = [
    "API_PREFIX",
    "TIERS",
    "AccessStore",
    "AuditLog",
    "Caller",
    "create_app",
    "serve",
    "suppress",
]
