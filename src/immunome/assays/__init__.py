"""Raw-assay processing: turn instrument files into protocol feature tables.

Only flow cytometry for now (:mod:`immunome.assays.flow`).

Example:
    >>> from immunome.assays import flow
    >>> "tcell-memory-100715" in [t.name for t in flow.list_templates()]
    True
"""

from immunome.assays import flow

__all__ = ["flow"]
