"""Output for a person at a terminal (issue 14, item 2): rich headings, coloured annotations, rendered
Markdown, the outputs in full and a final verdict; data never read as rich markup or terminal escapes; and
under Actions (or piped) the workflow commands byte for byte as before."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ml_action import cli
from ml_action.adapters import terminal
from ml_action.adapters.registry.base import Registry
from ml_action.adapters.runner import Runner
from ml_action.config import Config
from ml_action.context import RunContext
from tests.helpers import ROOT, copy_example

DATA = "[bold red]x[/] :smile: \x1b[31mred ::error::not ours"
STYLE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # bold, underline: kept by NO_COLOR, removed to read the text


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_when_a_person_reads_stdout() -> None:
    pipe, tty = io.StringIO(), Tty()
    assert not terminal.wanted({}, pipe, github_actions=False)
    assert terminal.wanted({}, tty, github_actions=False)
    assert not terminal.wanted({"FORCE_COLOR": "1", "ML_ACTION_PRETTY": "1"}, tty, github_actions=True)
    assert terminal.wanted({"ML_ACTION_PRETTY": "1"}, pipe, github_actions=False)
    assert terminal.wanted({"FORCE_COLOR": "1"}, pipe, github_actions=False)
    assert not terminal.wanted({"ML_ACTION_PRETTY": "0"}, tty, github_actions=False)


def _mode(config: Config, ctx: RunContext, runner: Runner, registry: Registry | None, workdir: Path) -> int:
    with runner.group(f"Load {DATA}"):
        runner.info(f"value: {DATA}")
    runner.warning(f"column {DATA} is odd", title="data")
    runner.markdown("## ml-action · report\n\n| metric | value |\n| --- | ---: |\n| f1_macro | 0.91 |\n")
    runner.set_output("verdict", "pass")
    runner.set_output("report-path", "reports/model.md")
    runner.set_output("metrics", '{"candidate": {"f1_macro": 0.9123456789}}' + " " * 400 + "end")
    return 0


def _run(env: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path, code: int = 0) -> str:
    env = {"INPUT_MODE": "evaluate", "GITHUB_WORKSPACE": str(tmp_path), **env}
    assert cli.run({}, env, modes={"evaluate": _mode}) == code
    return capsys.readouterr().out


def test_a_terminal_gets_headings_annotations_markdown_and_a_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = _run({"ML_ACTION_PRETTY": "1", "NO_COLOR": "1", "COLUMNS": "100"}, capsys, tmp_path)
    assert "\x1b[31m" not in raw  # no colour (NO_COLOR), and the data's escape sequence is shown, not sent
    out = STYLE.sub("", raw)
    assert "::group::" not in out and "::warning" not in out and "::endgroup::" not in out
    assert "▶ Load [bold red]x[/] :smile: \\x1b[31mred ::error::not ours" in out  # as text, escapes visible
    assert "value: [bold red]x[/] :smile: \\x1b[31mred ::error::not ours" in out
    assert "😄" not in out
    assert "warning: data: column [bold red]x[/]" in out
    assert "| --- |" not in out and "f1_macro" in out and "0.91" in out  # the table is rendered
    assert "end" in out and "…" not in out.split("Outputs", 1)[1]  # outputs in full, not clipped
    assert out.rstrip().splitlines()[-1] == "ml-action passed · report: reports/model.md"


def test_a_user_error_at_a_terminal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = STYLE.sub("", _run({"ML_ACTION_PRETTY": "1", "NO_COLOR": "1", "INPUT_TEST-SIZE": "2"}, capsys, tmp_path, 1))
    lines = out.rstrip().splitlines()
    assert lines[0] == "error: test-size: 2.0 is outside (0, 1). Set `--test-size` to a share like 0.2."
    assert lines[-1] == "ml-action failed"


def test_under_actions_or_piped_the_workflow_commands_are_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = _run({"GITHUB_ACTIONS": "true"}, capsys, tmp_path)
    forced = _run({"GITHUB_ACTIONS": "true", "FORCE_COLOR": "1", "ML_ACTION_PRETTY": "1"}, capsys, tmp_path)
    assert forced == plain
    assert plain.startswith("::group::Load [bold red]x[/] :smile: \\x1b[31mred ::error::not ours\n")
    assert "::warning title=data::column" in plain
    piped = _run({}, capsys, tmp_path)  # a shell, stdout not a terminal: the same lines
    assert piped == plain


def test_a_real_run_at_a_terminal_through_the_entrypoint(tmp_path: Path) -> None:
    workspace = copy_example("iris", tmp_path / "ws")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "ML_ACTION_PRETTY": "1",
        "NO_COLOR": "1",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": str(ROOT),
        "COLUMNS": "120",
    }
    proc = subprocess.run(
        [sys.executable, str(ROOT / "entrypoint.py"), "--bootstrap", "0", "--mode", "publish"],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = STYLE.sub("", proc.stdout)
    assert not [line for line in out.splitlines() if line.startswith("::")]
    assert "▶ Load data" in out and "▶ Train candidate" in out and "✓ Publish" in out
    last = out.rstrip().splitlines()[-1]
    assert last.startswith("ml-action passed · model-version v1 · champion-version v1 · promoted")
    assert last.endswith("report: ml-action-report.md")
