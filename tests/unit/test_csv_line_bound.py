"""A CSV with one enormous cell is refused before pandas' C parser holds it three times over (a 1 GB cell
took a run past 6.4 GB); lines up to ``MAX_CSV_LINE``, those pyarrow's 1 MiB blocks refuse included, still
read."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from ml_action.errors import UserError
from ml_action.pipeline.tables import MAX_CSV_LINE, first_long_line, read_table

CASES = [b"", b"a", b"a\n", b"ab\ncde\nf", b"\n\n\nxxxx", b"abc\n" * 10, b"x" * 30 + b"\nyy\n", b"ab\n" + b"x" * 12]


@pytest.mark.parametrize("text", CASES)
def test_first_long_line_whatever_the_blocks(tmp_path: Path, text: bytes) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(text)
    lines = text.split(b"\n")
    for limit in (2, 3, 5, 11, 100):
        expected = next(((i + 1, len(line)) for i, line in enumerate(lines) if len(line) > limit), None)
        for block in (1, 2, 3, 7, 1 << 20):
            assert first_long_line(path, limit, block) == expected, (limit, block)


def _with_cell(path: Path, size: int) -> Path:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as fh:
        fh.write(b"a,b,y\n1,2,0\n1,")
        fh.write(b"x" * size)
        fh.write(b",1\n3,4,0\n")
    return path


@pytest.mark.parametrize("name", ["big.csv", "big.csv.gz"])
def test_a_cell_longer_than_the_bound_is_a_user_error_naming_the_input(tmp_path: Path, name: str) -> None:
    path = _with_cell(tmp_path / name, MAX_CSV_LINE + 1)
    with pytest.raises(UserError) as err:
        read_table(path, "data", ",")
    assert err.value.input == "data"
    assert f"line 3 of '{name}' is 67,108,869 bytes long" in err.value.problem  # "1," + the cell + ",1"
    assert "lines of up to 67,108,864 bytes (64 MiB)" in err.value.problem
    assert "Parquet" in err.value.hint


def test_a_row_longer_than_pyarrows_block_still_reads(tmp_path: Path) -> None:
    frame = read_table(_with_cell(tmp_path / "wide.csv", 3 * 2**20), "data", ",")
    assert list(frame.columns) == ["a", "b", "y"] and len(frame) == 3 and len(frame["b"][1]) == 3 * 2**20
