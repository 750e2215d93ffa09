"""Validation issues and the report that collects them."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]

#: Row-level issues kept per (file, rule, column); the rest are counted in one summary issue.
MAX_ISSUES_PER_KEY = 50


@dataclass(frozen=True)
class Issue:
    """One problem found in a bundle.

    Example:
        >>> Issue("samples.csv", 3, "day", "type", "'x' is not an integer").to_text()
        "samples.csv:3:day: [type] 'x' is not an integer"
    """

    file: str
    line: int | None
    column: str | None
    rule: str
    message: str
    allowed: tuple[str, ...] | None = None
    severity: Severity = "error"

    def to_text(self) -> str:
        """Render as ``file:line:column: [rule] message (allowed: …)``."""
        where = ":".join(
            [self.file or "-", "" if self.line is None else str(self.line), self.column or ""]
        )
        text = f"{where}: [{self.rule}] {self.message}"
        if self.severity == "warning":
            text = f"{where}: warning: [{self.rule}] {self.message}"
        if self.allowed:
            shown = ", ".join(self.allowed[:25])
            more = f", … (+{len(self.allowed) - 25} more)" if len(self.allowed) > 25 else ""
            text += f" (allowed: {shown}{more})"
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        d = asdict(self)
        d["allowed"] = list(self.allowed) if self.allowed is not None else None
        return d


@dataclass
class ValidationReport:
    """Every issue found in a bundle, in file order.

    Example:
        >>> r = ValidationReport(source="b")
        >>> r.add("samples.csv", 2, "day", "type", "'x' is not an integer")
        >>> r.ok, len(r.errors)
        (False, 1)
    """

    source: str = ""
    site: str | None = None
    protocol: str | None = None
    protocol_version: int | None = None
    content_sha256: str | None = None
    issues: list[Issue] = field(default_factory=list)
    _counts: Counter = field(default_factory=Counter, repr=False)
    _overflow: Counter = field(default_factory=Counter, repr=False)

    # building -----------------------------------------------------------------------------
    def add(
        self,
        file: str,
        line: int | None,
        column: str | None,
        rule: str,
        message: str,
        *,
        allowed: list[str] | tuple[str, ...] | None = None,
        severity: Severity = "error",
    ) -> None:
        """Record one issue (row-level issues beyond a cap are only counted)."""
        key = (file, rule, column, severity)
        self._counts[key] += 1
        if self._counts[key] > MAX_ISSUES_PER_KEY:
            self._overflow[key] += 1
            return
        allowed_t = tuple(str(a) for a in allowed) if allowed is not None else None
        self.issues.append(Issue(file, line, column, rule, message, allowed_t, severity))

    def add_rows(
        self,
        file: str,
        lines: list[int] | Any,
        column: str | None,
        rule: str,
        messages: list[str] | Any,
        *,
        allowed: list[str] | tuple[str, ...] | None = None,
        severity: Severity = "error",
    ) -> None:
        """Record one issue per line (vectorised callers pass arrays; only the cap is kept)."""
        total = len(lines)
        room = max(0, MAX_ISSUES_PER_KEY - self._counts[(file, rule, column, severity)])
        for ln, msg in zip(list(lines[:room]), list(messages[:room]), strict=False):
            self.add(file, int(ln), column, rule, str(msg), allowed=allowed, severity=severity)
        extra = total - min(room, total)
        if extra > 0:
            key = (file, rule, column, severity)
            self._counts[key] += extra
            self._overflow[key] += extra

    def finish(self) -> ValidationReport:
        """Append one summary issue per capped key and sort by file/line. Returns ``self``."""
        for (file, rule, column, severity), n in self._overflow.items():
            self.issues.append(
                Issue(file, None, column, rule, f"… and {n} more like this", None, severity)
            )
        self._overflow.clear()
        return self

    # reading ------------------------------------------------------------------------------
    @property
    def errors(self) -> list[Issue]:
        """Issues that block ingestion."""
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        """Issues that do not block ingestion."""
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors

    def n_errors(self) -> int:
        """Number of errors including those beyond the per-key cap."""
        return sum(n for k, n in self._counts.items() if k[3] == "error")

    def rules(self) -> set[str]:
        """Set of rule ids that occurred."""
        return {i.rule for i in self.issues}

    def find(self, rule: str) -> list[Issue]:
        """Issues with rule id ``rule``."""
        return [i for i in self.issues if i.rule == rule]

    def to_dict(self) -> dict[str, Any]:
        """``{"ok", "errors", "warnings", "issues": [...]}`` plus bundle identity."""
        return {
            "ok": self.ok,
            "errors": sum(n for k, n in self._counts.items() if k[3] == "error"),
            "warnings": sum(n for k, n in self._counts.items() if k[3] == "warning"),
            "source": self.source,
            "site": self.site,
            "protocol": self.protocol,
            "protocol_version": self.protocol_version,
            "content_sha256": self.content_sha256,
            "issues": [i.to_dict() for i in self.issues],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def to_text(self) -> str:
        """One line per issue, then a summary line."""
        lines = [i.to_text() for i in self.issues]
        d = self.to_dict()
        verdict = "valid" if self.ok else "INVALID"
        lines.append(
            f"{self.source or 'bundle'}: {verdict} — {d['errors']} error(s), "
            f"{d['warnings']} warning(s)"
        )
        return "\n".join(lines)
