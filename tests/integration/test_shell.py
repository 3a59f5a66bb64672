"""The first ten minutes at a shell (issue 14, items 2 and 3): hints name flags at a shell and inputs under
Actions, path errors say where the workspace is, a path in the checkout gets a `--workspace` hint, a missing
config file is named, CSV separators are detected, and ``ml-action --help`` lists the flags."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ml_action import cli
from ml_action.config import load_config
from ml_action.errors import UserError, WorkspaceError, for_shell
from ml_action.inputs import csv_separator
from ml_action.pipeline.tables import read_table, sniff_separator
from tests.helpers import make_config

INPUT_NAMES = {"to-version", "mode", "test-size", "csv-separator"}


def test_hints_name_flags_at_a_shell_and_inputs_under_actions() -> None:
    exc = UserError(
        "to-version",
        "'previous' needs an earlier version",
        "Set `to-version: v<N>` (see `mode: list`); `test-size` and the column `churned` stay.",
    )
    shell = cli.user_message(exc, {}, {}, github_actions=False)
    assert shell == (
        "'previous' needs an earlier version. Set `--to-version v<N>` (see `--mode list`); "
        "`--test-size` and the column `churned` stay."
    )
    assert cli.user_message(exc, {}, {}, github_actions=True) == exc.annotation()
    assert for_shell("`with:` and `csv-separator: ;`", INPUT_NAMES) == "`with:` and `--csv-separator ';'`"
    assert for_shell("`csv-separator: |` `mode: list`", INPUT_NAMES) == "`--csv-separator '|'` `--mode list`"


def _main(argv: list[str], env: dict[str, str], cwd: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    old = os.getcwd()
    os.chdir(cwd)
    try:
        code = cli.main(argv, env)
    finally:
        os.chdir(old)
    return code, capsys.readouterr().out


def test_a_bad_value_names_the_flag_at_a_shell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _main(["--test-size", "2"], {}, tmp_path, capsys)
    assert (
        code == 1
        and out.strip() == "::error title=test-size::2.0 is outside (0, 1). Set `--test-size` to a share like 0.2."
    )
    code, out = _main(
        [], {"INPUT_TEST-SIZE": "2", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(tmp_path)}, tmp_path, capsys
    )
    assert code == 1 and "Set `test-size` to a share like 0.2." in out


@pytest.fixture
def checkout(tmp_path: Path) -> Iterator[Path]:
    """A repository checkout (found by its .git) with two example folders."""
    (tmp_path / ".git").mkdir()
    for name in ("churn", "iris"):
        (tmp_path / "examples" / name).mkdir(parents=True)
    (tmp_path / "examples" / "iris" / "iris.csv").write_text("a,b,species\n1,2,x\n3,4,y\n")
    yield tmp_path


def test_a_path_in_the_checkout_but_outside_the_workspace(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    churn = checkout / "examples" / "churn"
    code, out = _main(["--data", "../iris/iris.csv", "--target", "species"], {}, churn, capsys)
    assert code == 1
    assert f"path '../iris/iris.csv' is outside the workspace {churn} (the current folder)." in out
    assert f"run from {checkout / 'examples'} (or pass `--workspace ..`) with `--data iris/iris.csv`." in out
    # under Actions: the checkout and the input
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(checkout),
        "INPUT_WORKSPACE": "examples/churn",
        "INPUT_DATA": "../iris/iris.csv",
        "INPUT_TARGET": "species",
    }
    code, out = _main([], env, checkout, capsys)
    assert code == 1 and f"outside the workspace {churn} (set by `workspace`)" in out
    assert "set `workspace: examples` and `data: iris/iris.csv`." in out
    # following the hint works: the error is now about the next thing (no model needed to see it)
    code, out = _main(["--workspace", "..", "--data", "iris/iris.csv", "--target", "nope"], {}, churn, capsys)
    assert code == 1 and "column 'nope' is not in the data. Use one of: a, b, species." in out


def test_a_path_outside_any_checkout_says_where_the_workspace_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _main(["--data", "../x.csv", "--target", "y"], {}, tmp_path, capsys)
    assert code == 1 and f"outside the workspace {tmp_path.resolve()} (the current folder). Use a path inside" in out
    code, out = _main(["--data", "nope.csv", "--target", "y"], {"GITHUB_WORKSPACE": str(tmp_path)}, tmp_path, capsys)
    assert f"'nope.csv' does not exist in the workspace {tmp_path.resolve()} (GITHUB_WORKSPACE" in out


def test_no_config_file_says_which_file_was_looked_for_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _main([], {}, tmp_path, capsys)
    assert code == 1 and out.startswith(
        "::error title=data::is required and was not given; no config file was "
        f"found: looked for ml-action.yml in {tmp_path.resolve()} (the current "
        "folder). Pass `--data <value>`"
    )
    (tmp_path / "ml-action.yml").write_text("target: y\n")
    code, out = _main([], {}, tmp_path, capsys)
    assert code == 1 and "no config file" not in out and "data::is required" in out


def test_the_workspace_input(checkout: Path) -> None:
    churn = checkout / "examples" / "churn"
    (churn / "ml-action.yml").write_text("data: churn.csv\ntarget: churned\n")
    config = load_config({"GITHUB_WORKSPACE": str(checkout), "INPUT_WORKSPACE": "examples/churn"})
    assert config.workspace == churn and config.data == "churn.csv" and config.config_file
    assert "workspace" not in config.resolved()
    with pytest.raises(WorkspaceError, match="outside the checkout"):
        load_config({"GITHUB_WORKSPACE": str(churn)}, {"workspace": "../iris"})
    with pytest.raises(WorkspaceError, match="is not a folder"):
        load_config({"GITHUB_WORKSPACE": str(checkout)}, {"workspace": "nope"})
    (churn / "ml-action.yml").write_text("workspace: ..\n")
    with pytest.raises(UserError, match="sets `workspace`"):
        load_config({"GITHUB_WORKSPACE": str(churn)})


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_the_csv_separator_is_detected(tmp_path: Path, sep: str) -> None:
    path = tmp_path / "d.csv"
    path.write_text(
        sep.join(["plan", "region", "note", "churned"])
        + "\n"
        + sep.join(["basic", "north", '"a, b; c | d"', "1"])
        + "\n"
        + sep.join(["pro", "south", "x", "0"])
        + "\n"
    )
    assert sniff_separator(path) == sep
    frame = read_table(path, "data", sep)
    assert list(frame.columns) == ["plan", "region", "note", "churned"] and frame["note"][0] == "a, b; c | d"


def test_a_one_column_header_holding_a_separator_names_csv_separator(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("plan;region;churned\nbasic;north;1\npro;south;0\n")
    with pytest.raises(UserError) as info:
        read_table(path, "data", ",")
    assert info.value.input == "csv-separator"
    assert "has one column, named 'plan;region;churned', which holds a semicolon" in info.value.problem
    assert "Set `csv-separator: ;`" in info.value.hint
    single = tmp_path / "one.csv"
    single.write_text("y\n1\n2\n")  # one column, no separator in its name: read as it is
    assert list(read_table(single, "data", ",").columns) == ["y"]


def test_csv_separator_values() -> None:
    assert [csv_separator("csv-separator", v) for v in ("", "auto", ",", ";", "tab", "\\t", "|", "\t")] == [
        "auto",
        "auto",
        ",",
        ";",
        "\t",
        "\t",
        "|",
        "\t",
    ]
    with pytest.raises(UserError, match="not a CSV separator"):
        csv_separator("csv-separator", ":")
    assert make_config(Path(".")).csv_separator == "auto"


def test_a_semicolon_csv_is_read_and_the_log_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ml_action.pipeline.data import load_dataset
    from ml_action.pipeline.tables import describe_separators

    rows = "\n".join(f"{i % 3};{'ab'[i % 2]};{i % 2}" for i in range(40))
    (tmp_path / "d.csv").write_text("tenure;plan;churned\n" + rows + "\n")
    config = load_config({"GITHUB_WORKSPACE": str(tmp_path)}, {"data": "d.csv", "target": "churned"})
    dataset = load_dataset(config)
    assert dataset.features == ["tenure", "plan"]
    assert dataset.fingerprints["train"]["csv_separator"] == ";"
    assert describe_separators(dataset.fingerprints, "auto") == "CSV separator: semicolon (detected)"


def test_help_lists_the_flags_of_the_default_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"], {})
    text = capsys.readouterr().out
    for flag in ("--data", "--target", "--to-version", "--workspace", "--csv-separator", "run"):
        assert flag in text


def test_setting_mistakes_are_reported_before_the_heavy_imports(tmp_path: Path) -> None:
    """A missing config/data file, an unknown target or the wrong separator: found without pandas, scikit-learn
    or numpy (what makes the first error take seconds); a subprocess, so nothing is imported already."""
    import subprocess
    import sys

    (tmp_path / "d.csv").write_text("plan;region;churned\nbasic;north;1\n")
    snippet = (
        "import sys; from ml_action.cli import main; code = main(sys.argv[1:], {}); "
        "heavy = sorted({'pandas', 'sklearn', 'numpy', 'pyarrow', 'boto3'} & set(sys.modules)); "
        "print('heavy:', heavy); sys.exit(code)"
    )
    for argv, error in (
        (["--data", "nope.csv", "--target", "y"], "does not exist"),
        (["--data", "d.csv", "--target", "nope"], "column 'nope' is not in the data"),
        (["--data", "d.csv", "--target", "churned", "--csv-separator", ","], "csv-separator"),
        ([], "no config file was found"),
    ):
        proc = subprocess.run(
            [sys.executable, "-c", snippet, *argv],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env={k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))},
            timeout=120,
        )
        assert proc.returncode == 1 and error in proc.stdout, proc.stdout + proc.stderr
        assert "heavy: []" in proc.stdout, proc.stdout


def test_sniffing_reads_a_bounded_sample(tmp_path: Path) -> None:
    """A 1 MB cell or a quoted line break in the sample does not stop the detection (nor raise)."""
    path = tmp_path / "d.csv"
    path.write_text('a;b;note\n1;2;"one\ntwo"\n3;4;' + "x" * 1_000_000 + "\n")
    assert sniff_separator(path) == ";"
    assert sniff_separator(path, limit=12) == ";"  # the header alone


def test_the_action_process_uses_jemalloc_for_arrow(monkeypatch: pytest.MonkeyPatch) -> None:
    """``main()`` as a process entry sets Arrow's pool before pyarrow loads (docs/benchmarks.md: jemalloc had
    the lowest peak RSS at every size); a user's own ``ARROW_DEFAULT_MEMORY_POOL`` is kept."""
    import subprocess
    import sys

    snippet = (
        "import os, sys; from ml_action.cli import arrow_allocator; arrow_allocator(os.environ); "
        "import pyarrow; print(pyarrow.default_memory_pool().backend_name)"
    )
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    out = subprocess.run([sys.executable, "-c", snippet], env=env, capture_output=True, text=True, timeout=120)
    linux = sys.platform.startswith("linux")  # jemalloc is in pyarrow's Linux wheels; elsewhere the default stays
    assert (out.stdout.strip() == "jemalloc" or not linux) and not out.stderr, out.stderr
    out = subprocess.run(
        [sys.executable, "-c", snippet],
        env={**env, "ARROW_DEFAULT_MEMORY_POOL": "system"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.stdout.strip() == "system", out.stderr
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert os.environ.get("ARROW_DEFAULT_MEMORY_POOL") == ("jemalloc" if linux else None)
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    with pytest.raises(SystemExit):
        cli.main(["--version"], env={})  # called as a library with its own environment: the process is left alone
    assert "ARROW_DEFAULT_MEMORY_POOL" not in os.environ
