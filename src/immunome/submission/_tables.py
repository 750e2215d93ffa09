"""Read CSV / TSV / Parquet tables of a bundle into Arrow, keeping source line numbers.

Line numbers: the header is line 1, data row ``i`` (0-based) is line ``i + 2``; blank lines
are skipped by the parser and accounted for. ``\\n``, ``\\r\\n`` and old-Mac ``\\r`` line endings
are all accepted. Non-UTF-8 input is reported with its line and byte offset.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from immunome.submission._bundle import BundleFile
from immunome.submission._report import ValidationReport

NULLS = ["", "NA"]
DICT_STR = pa.dictionary(pa.int32(), pa.string())
_COLS_RE = re.compile(r"Expected (\d+) columns, got (\d+)")
_COLNUM_RE = re.compile(r"In CSV column #(\d+)")


@dataclass
class Table:
    """A parsed table and how to map its rows back to source lines."""

    name: str
    data: pa.Table
    lines: np.ndarray | None = None  # explicit line per row, when blank lines were skipped
    offset: int = 2  # line of row 0 when ``lines`` is None (parquet: 1-based row number)

    @property
    def columns(self) -> list[str]:
        """Column names in file order."""
        return self.data.column_names

    def line_of(self, rows: np.ndarray) -> np.ndarray:
        """Source line numbers of 0-based row indices."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.lines is not None:
            return self.lines[rows]
        return rows + self.offset


def _line_at(data: bytes, offset: int) -> int:
    nl = data.count(b"\n", 0, offset)
    return (nl if nl else data.count(b"\r", 0, offset)) + 1


def _check_utf8(name: str, data: bytes, report: ValidationReport) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = _line_at(data, e.start)
        report.add(
            name,
            line,
            None,
            "encoding",
            f"not valid UTF-8: byte 0x{data[e.start]:02x} at byte offset {e.start} "
            f"(line {line}); save the file as UTF-8",
            allowed=["UTF-8"],
        )
        return False
    return True


def _header(data: bytes, delimiter: str) -> list[str]:
    end = len(data)
    for sep in (b"\n", b"\r"):
        i = data.find(sep)
        if i != -1:
            end = min(end, i)
    first = data[:end].decode("utf-8-sig", errors="replace")
    return next(csv.reader([first], delimiter=delimiter), [])


def _blank_line_map(data: bytes, num_rows: int) -> np.ndarray | None:
    """Explicit line numbers when the file has blank lines (the parser skips them), else None."""
    nl = data.count(b"\n") or data.count(b"\r")
    total = nl + (0 if data.endswith((b"\n", b"\r")) else 1)
    if total == num_rows + 1:
        return None
    nums = [i + 1 for i, ln in enumerate(data.splitlines()) if ln]
    return np.asarray(nums[1:], dtype=np.int64)


def _locate_ragged(name: str, data: bytes, delimiter: str, report: ValidationReport) -> None:
    text = data.decode("utf-8-sig", errors="replace")
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    width = None
    for i, row in enumerate(rows, start=1):
        if not row:
            continue
        if width is None:
            width = len(row)
        elif len(row) != width:
            report.add(
                name, i, None, "format", f"row has {len(row)} fields; the header has {width}"
            )


def read_table(
    bf: BundleFile,
    report: ValidationReport,
    *,
    types: dict[str, pa.DataType] | None = None,
    default: pa.DataType = pa.string(),
) -> Table | None:
    """Parse ``bf``; problems go to ``report`` and give ``None``.

    Columns named in ``types`` get that Arrow type; others get ``default``. If a typed column
    fails to convert, the table is re-read with that column as text so the caller can report
    each bad cell with its line.

    Example:
        >>> from immunome.submission._bundle import BundleFile
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"; _ = p.write_bytes(b"a,b\\r1,NA\\r")
        >>> read_table(BundleFile("t.csv", 10, _path=p), ValidationReport()).data.to_pylist()
        [{'a': '1', 'b': None}]
    """
    name = bf.name
    suffix = name.rsplit(".", 1)[-1].lower()
    if suffix not in ("csv", "tsv", "txt", "parquet"):
        report.add(
            name,
            None,
            None,
            "format",
            "unsupported table format",
            allowed=[".csv", ".tsv", ".parquet"],
        )
        return None
    if bf.size == 0:
        report.add(name, None, None, "empty", "file is empty (no header, no rows)")
        return None
    if suffix == "parquet":
        return _read_parquet(bf, report)
    # directory files are memory-mapped (no copy); zip members are read into memory
    buf = pa.memory_map(str(bf.path)).read_buffer() if bf.path else pa.py_buffer(bf.read_bytes())
    head = buf[:65536].to_pybytes()
    if not head.strip() and (len(buf) <= 65536 or not buf.to_pybytes().strip()):
        report.add(name, 1, None, "empty", "file is empty (no header, no rows)")
        return None
    delimiter = "," if suffix == "csv" else "\t"
    header = _header(head, delimiter)
    types = types or {}
    col_types = {c: types.get(c, default) for c in header}
    parsed = _parse(name, buf, delimiter, col_types, report)
    if parsed is None:
        return None
    table, skipped_blank = parsed
    lines = None
    if skipped_blank:
        lines = _blank_line_map(buf.to_pybytes(), table.num_rows)
    else:
        table, lines = _drop_blank_rows(table)
    if table.num_rows == 0:
        report.add(name, 2, None, "empty", "file has a header but no data rows")
        return None
    return Table(name, table, lines)


def _drop_blank_rows(table: pa.Table) -> tuple[pa.Table, np.ndarray | None]:
    """Blank lines parse as all-null rows: drop them and keep exact line numbers (row i = line i+2)."""
    if table.num_columns == 0 or any(c.null_count == 0 for c in table.columns):
        return table, None
    blank = pc.is_null(table.column(0))
    for c in table.columns[1:]:
        blank = pc.and_(blank, pc.is_null(c))
    mask = blank.to_numpy(zero_copy_only=False)
    if not mask.any():
        return table, None
    keep = ~mask
    return table.filter(pa.array(keep)), np.flatnonzero(keep).astype(np.int64) + 2


def _parse(
    name: str,
    buf: pa.Buffer,
    delimiter: str,
    col_types: dict[str, pa.DataType],
    report: ValidationReport,
) -> tuple[pa.Table, bool] | None:
    """Parse; returns (table, blank lines were skipped) or None (issues reported).

    Blank lines are first *not* skipped, so that row ``i`` is exactly line ``i + 2`` without
    counting newlines; only if that fails on a short row is the file re-read skipping them.
    """
    skip_blank = False

    def attempt(ct: dict[str, pa.DataType]) -> pa.Table:
        return pacsv.read_csv(
            pa.BufferReader(buf),
            read_options=pacsv.ReadOptions(block_size=16 * 1024 * 1024),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, ignore_empty_lines=skip_blank),
            convert_options=pacsv.ConvertOptions(
                column_types=ct,
                null_values=NULLS,
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                check_utf8=True,
            ),
        )

    try:
        return attempt(col_types), False
    except pa.ArrowInvalid as e:
        msg = str(e)
    if _COLS_RE.search(msg):  # maybe only blank lines: retry skipping them
        skip_blank = True
        try:
            return attempt(col_types), True
        except pa.ArrowInvalid as e:
            msg = str(e)
    data = buf.to_pybytes()  # slow paths below need the bytes
    if ("UTF8" in msg or "utf8" in msg.lower()) and not _check_utf8(name, data, report):
        return None
    if _COLS_RE.search(msg) or "CSV parse error" in msg:
        if not _check_utf8(name, data, report):
            return None
        _locate_ragged(name, data, delimiter, report)
        if not report.find("format"):
            report.add(name, None, None, "format", f"cannot parse table: {msg.splitlines()[0]}")
        return None
    if not _check_utf8(name, data, report):
        return None
    # a typed column failed to convert: re-read the failing columns as text, one at a time
    names = list(col_types)
    relaxed = dict(col_types)
    for _ in range(len(names) + 1):
        m = _COLNUM_RE.search(msg)
        if _COLS_RE.search(msg) and not skip_blank:
            skip_blank = True
        elif m and int(m.group(1)) < len(names):
            relaxed[names[int(m.group(1))]] = pa.string()
        else:
            relaxed = {
                c: (t if t in (pa.string(), DICT_STR) else pa.string()) for c, t in relaxed.items()
            }
        try:
            return attempt(relaxed), skip_blank
        except pa.ArrowInvalid as e:
            msg = str(e)
    report.add(name, None, None, "format", f"cannot parse table: {msg.splitlines()[0]}")
    return None


def _read_parquet(bf: BundleFile, report: ValidationReport) -> Table | None:
    try:
        src = str(bf.path) if bf.path is not None else pa.BufferReader(bf.read_bytes())
        table = pq.read_table(src)
    except (pa.ArrowException, OSError) as e:
        report.add(bf.name, None, None, "format", f"not a readable Parquet file ({e})")
        return None
    if table.num_rows == 0:
        report.add(bf.name, None, None, "empty", "Parquet file has no rows")
        return None
    return Table(bf.name, table, None, offset=1)
