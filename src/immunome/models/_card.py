"""Model cards: a JSON document rendered to Markdown.

Example:
    >>> md = render_card_markdown({"name": "m", "task": "regression", "metrics_table": [{"model": "ridge", "mae": 1.0}]})
    >>> "| model | mae |" in md
    True
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

CARD_FORMAT = "immunome-model-card/1"


def _cell(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.3f}".rstrip("0").rstrip(".") if abs(v) < 1e6 else f"{v:.3g}"
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True)
    return str(v).replace("|", "\\|")


def markdown_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Render a list of dicts as a Markdown table (columns = union of keys, in first-seen order)."""
    if not rows:
        return "_none_\n"
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_cell(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


_TABLES = (
    ("metrics_table", "Metrics, with baselines side by side"),
    ("per_site", "Per-site error (leave-one-site-out)"),
    ("coverage", "Conformal interval coverage per split"),
    ("subgroups", "Per-subgroup metrics (groups with n < 5 suppressed)"),
    ("tasks", "Tasks"),
)


def render_card_markdown(card: Mapping[str, Any]) -> str:
    """Render a model card dict as Markdown (every section present in the card)."""
    out = [f"# Model card: {card.get('name', '?')}\n"]
    if card.get("summary"):
        out.append(card["summary"] + "\n")
    fields = [
        ("Task", card.get("task")),
        ("Target", card.get("target")),
        ("Headline", card.get("headline")),
    ]
    out += [f"- **{k}**: {_cell(v)}" for k, v in fields if v is not None]
    data = card.get("data") or {}
    if data:
        out.append("\n## Data\n")
        out += [f"- **{k}**: {_cell(v)}" for k, v in data.items() if k != "citations"]
        if data.get("citations"):
            out.append("\n**Citations**\n")
            out += [f"- {c}" for c in data["citations"]]
    algo = card.get("algorithm") or {}
    if algo:
        out.append("\n## Algorithm\n")
        out += [f"- **{k}**: {_cell(v)}" for k, v in algo.items()]
    if card.get("features"):
        out.append("\n## Features\n")
        out.append(", ".join(f"`{f}`" for f in card["features"]))
    for key, title in _TABLES:
        if card.get(key):
            out.append(f"\n## {title}\n")
            out.append(markdown_table(card[key]))
    if card.get("intervals"):
        out.append("\n## Prediction intervals\n")
        out += [f"- **{k}**: {_cell(v)}" for k, v in card["intervals"].items()]
    if card.get("gap_association"):
        out.append("\n## Immune-age gap association\n")
        out.append(
            "```json\n" + json.dumps(card["gap_association"], indent=2, sort_keys=True) + "\n```"
        )
    for key, title in (("intended_use", "Intended use"), ("limits", "Limits")):
        if card.get(key):
            out.append(f"\n## {title}\n")
            items = card[key] if isinstance(card[key], list) else [card[key]]
            out += [f"- {x}" for x in items]
    return "\n".join(out).rstrip() + "\n"
