"""Tables on disk: the formats the action reads (CSV, Parquet, JSON Lines), the CSV separator (given or
sniffed), reading one file with the errors a user can act on, and its fingerprint (sha256, rows, schema).

A CSV line is at most ``MAX_CSV_LINE`` bytes. pyarrow's parser refuses a row longer than its 1 MiB block,
and pandas' C parser, which then reads the file, holds about three times a cell in memory (a 300 MB cell:
1.0 GB peak; a 1 GB cell took a run past 6.4 GB): so before that fallback the file's lines are measured
(0.2 s per GB, only on that fallback) and a longer one is refused, naming the input."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml_action.errors import UserError, first_line
from ml_action.records.artifacts import sha256_file

if TYPE_CHECKING:
    import pandas as pd


FORMATS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv.gz": "csv",
}


def format_of(path: Path) -> str | None:
    name = path.name.lower()
    for suffix, fmt in sorted(FORMATS.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix):
            return fmt
    return None


CSV_SEPARATORS = (",", ";", "\t", "|")
SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def sniff_separator(path: Path, lines: int = 20, limit: int = 64 * 1024) -> str:
    """The CSV separator from the header and the first lines (at most ``limit`` characters): of ``, ; tab |``,
    the one that splits the header into the most columns and every following complete line into as many
    (outside quotes); a comma when none does."""
    import csv
    import gzip
    import io

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as fh:
            head = fh.read(limit)
    except (OSError, EOFError):
        return ","
    complete = head.count("\n") if len(head) == limit else head.count("\n") + 1  # a cut last line is left out
    text = "".join(head.splitlines(keepends=True)[: max(1, min(lines, complete))])
    best, best_columns = ",", 1
    for sep in CSV_SEPARATORS:
        try:
            rows = [r for r in csv.reader(io.StringIO(text), delimiter=sep) if r]
        except csv.Error:  # e.g. a field longer than the csv module's limit
            continue
        # the last row may be a quoted field with line breaks that the sample cut: no more columns, not as many
        if (
            rows
            and len(rows[0]) > best_columns
            and all(len(r) == len(rows[0]) for r in rows[1:-1])
            and len(rows[-1]) <= len(rows[0])
        ):
            best, best_columns = sep, len(rows[0])
    return best


def csv_separator(path: Path, wanted: str) -> str:
    """The separator to read ``path`` with: ``wanted``, or sniffed when it is ``auto``."""
    return sniff_separator(path) if wanted == "auto" else wanted


def read_table(path: Path, input_name: str, separator: str = ",") -> pd.DataFrame:
    """Read one file by its extension (CSV with ``separator``); a parse error is the user's, named with the
    input. A CSV whose header is one column holding a separator gets a hint naming ``csv-separator``."""
    import pandas as pd

    fmt = format_of(path)
    if fmt is None:
        raise UserError(
            input_name, f"'{path.name}' has an unknown extension", "Use .csv, .parquet or .jsonl (JSON Lines)."
        )
    try:
        if fmt == "csv":
            try:
                frame = pd.read_csv(path, engine="pyarrow", sep=separator)
            except Exception:
                # the pyarrow parser is fast but strict; the C parser gives the clearer error
                check_line_lengths(path, input_name)
                frame = pd.read_csv(path, sep=separator)
        elif fmt == "parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_json(path, lines=True)
    except UnicodeDecodeError:
        raise UserError(input_name, f"'{path.name}' is not UTF-8 text", "Save the file as UTF-8.") from None
    except pd.errors.EmptyDataError:
        raise UserError(input_name, f"'{path.name}' is empty", "Give a file with a header and rows.") from None
    except (ValueError, pd.errors.ParserError, OSError) as exc:
        first = first_line(exc)
        raise UserError(
            input_name, f"'{path.name}' could not be read as {fmt} ({first})", f"Check that the file is valid {fmt}."
        ) from None
    except Exception as exc:  # pyarrow raises its own types for malformed files
        if type(exc).__module__.startswith("pyarrow"):
            raise UserError(
                input_name, f"'{path.name}' could not be read as {fmt} ({exc})", f"Check that the file is valid {fmt}."
            ) from None
        raise
    if len(frame) == 0:
        raise UserError(input_name, f"'{path.name}' has no rows", "Give a dataset with at least a few rows.")
    frame.columns = [str(c) for c in frame.columns]
    if fmt == "csv":
        check_separator(path, list(frame.columns), separator)
    frame.attrs["csv_separator"] = separator if fmt == "csv" else None
    return frame


MAX_CSV_LINE = 64 * 1024 * 1024  # bytes; about 200 MB in pandas' C parser


def first_long_line(path: Path, limit: int, block: int = 8 * 1024 * 1024) -> tuple[int, int] | None:
    """The number (1-based) and length in bytes of the first line of ``path`` (decompressed for ``.gz``)
    longer than ``limit``, or None. Read block by block (memory: one block); a line inside one block is
    shorter than ``limit`` (``block <= limit``), so only the bytes between newlines across blocks count,
    and lines are counted only once one is found."""
    import gzip

    block = min(block, limit)
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    run = offset = 0  # bytes of the current line before this block; bytes before this block
    start: int | None = None  # where the first long line starts
    with opener(path, "rb") as fh:
        while chunk := fh.read(block):
            first = chunk.find(b"\n")
            if start is None and run + (first if first >= 0 else len(chunk)) > limit:
                start = offset - run
            if start is not None and first >= 0:
                length = offset + first - start
                break
            run = run + len(chunk) if first < 0 else len(chunk) - chunk.rfind(b"\n") - 1
            offset += len(chunk)
        else:
            if start is None:
                return None
            length = offset - start
        fh.seek(0)
        newlines, left = 0, start
        while left > 0 and (part := fh.read(min(block, left))):
            newlines, left = newlines + part.count(b"\n"), left - len(part)
    return newlines + 1, length


def check_line_lengths(path: Path, input_name: str) -> None:
    """``UserError`` naming the input when a line of the CSV ``path`` is longer than ``MAX_CSV_LINE``."""
    try:
        found = first_long_line(path, MAX_CSV_LINE)
    except (OSError, EOFError):
        return  # the read itself reports an unreadable file
    if found is not None:
        number, length = found
        raise UserError(
            input_name,
            f"line {number} of '{escape_name(path.name)}' is {length:,} bytes long; ml-action reads CSV "
            f"lines of up to {MAX_CSV_LINE:,} bytes ({MAX_CSV_LINE // 2**20} MiB)",
            "A cell that long is usually a quote that is never closed or a binary column: fix or drop it, "
            "or store the data as Parquet.",
        )


def check_separator(path: Path, columns: list[str], separator: str) -> None:
    """A CSV header read as one column that holds another separator: the separator is wrong; say which to set."""
    if len(columns) != 1:
        return
    found = [s for s in CSV_SEPARATORS if s != separator and s in columns[0]]
    if found:
        raise UserError(
            "csv-separator",
            f"'{path.name}' read with the separator {SEPARATOR_NAMES[separator]} "
            f"has one column, named '{escape_name(columns[0])}', which holds a "
            f"{SEPARATOR_NAMES[found[0]]}",
            f"Set `csv-separator: {_spelling(found[0])}` (or `auto`) for this file.",
        )


def csv_header(path: Path, separator: str) -> list[str] | None:
    """The column names of a CSV file from its first line (no pandas), or ``None`` when it cannot be read
    cheaply (not UTF-8, empty): then the full read reports the problem."""
    import csv
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
            row = next(csv.reader(fh, delimiter=separator), None)
    except (OSError, EOFError, UnicodeDecodeError, csv.Error):
        return None
    return [c for c in row] if row else None


def _spelling(separator: str) -> str:
    return "tab" if separator == "\t" else separator


def escape_name(name: str) -> str:
    from ml_action.report.escape import visible

    return visible(name, 80)


def read_hashed(path: Path, input_name: str, separator: str = "auto") -> tuple[pd.DataFrame, str]:
    """``read_table`` with the file's sha256 computed on a second thread meanwhile (both release the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(sha256_file, path)
        frame = read_table(path, input_name, csv_separator(path, separator))
        return frame, digest.result()


def fingerprint(path: Path, frame: pd.DataFrame, sha256: str | None = None) -> dict[str, Any]:
    """sha256 of the file's bytes, its size, rows and schema."""
    out = {
        "file": path.name,
        "sha256": sha256 or sha256_file(path),
        "bytes": path.stat().st_size,
        "rows": int(len(frame)),
        "columns": len(frame.columns),
        "schema": {c: str(t) for c, t in frame.dtypes.items()},
    }
    if frame.attrs.get("csv_separator"):
        out["csv_separator"] = frame.attrs["csv_separator"]
    return out


def describe_separators(fingerprints: Mapping[str, Mapping[str, Any]], wanted: str) -> str:
    """``CSV separator: semicolon (detected)`` for the log; empty when no CSV was read."""
    used = sorted({SEPARATOR_NAMES[f["csv_separator"]] for f in fingerprints.values() if f.get("csv_separator")})
    if not used:
        return ""
    return f"CSV separator: {', '.join(used)} ({'detected' if wanted == 'auto' else 'csv-separator'})"
