"""Test helpers: build a ``Config`` by hand, run the action the way the GitHub runner does and read back its
file commands."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ml_action.config import Config

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    workspace: Path

    @property
    def errors(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.startswith("::error")]


def make_config(workspace: Path, **fields: Any) -> Config:
    """A ``Config`` for a test that calls the code directly: every input at its default, but ``workspace``
    and ``fields`` (by field name, of the type ``load_config`` gives them: ``bootstrap=0``, not ``"0"``).

    A field given a value of another type than its default's (an int for a float is fine) is refused, so a
    hand-built ``Config`` never holds a type ``load_config`` could not produce (a value its parser would refuse,
    such as ``aws_region="eu west"`` for a test of the Python API, is fine)."""
    from ml_action.config import Config

    defaults = Config(workspace=workspace)
    for name, value in fields.items():
        default = getattr(defaults, name)  # an unknown name fails here, naming it
        kind = (int, float) if isinstance(default, float) else type(default)
        if default is not None and not isinstance(value, kind):
            kinds = f"{type(value).__name__}, its default {type(default).__name__}"
            raise TypeError(f"make_config: {name}={value!r} has type {kinds} (types as load_config gives them)")
    return Config(workspace=workspace, **fields)


def parse_outputs(text: str) -> dict[str, str]:
    """Read a GITHUB_OUTPUT file written with the ``name<<delimiter`` form."""
    out: dict[str, str] = {}
    for match in re.finditer(r"^(.+?)<<(\S+)\n(.*?)\n\2$", text, flags=re.S | re.M):
        out[match.group(1)] = match.group(3)
    return out


def copy_example(name: str, dest: Path) -> Path:
    shutil.copytree(EXAMPLES / name, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".ml-action"))
    return dest


def runner_env(workspace: Path, inputs: dict[str, str], extra: dict[str, str] | None = None) -> dict[str, str]:
    commands = workspace.parent / f"{workspace.name}-commands"
    commands.mkdir(exist_ok=True)
    output, summary = commands / "output", commands / "summary"
    output.write_text("")
    summary.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
    # Tests run beside each other on shared cores: there, OpenMP's waiting threads made each
    # HistGradientBoosting fit ~10x slower (churn example: 147 s). One thread gives the same model.
    env.setdefault("OMP_NUM_THREADS", "1")
    env.update(
        {
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_ACTIONS": "true",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update({f"INPUT_{k.upper()}": v for k, v in inputs.items()})
    env.update(extra or {})
    return env


def run_action(
    workspace: Path, inputs: dict[str, str], extra: dict[str, str] | None = None, args: list[str] | None = None
) -> Result:
    """Run ``entrypoint.py`` in a subprocess with ``INPUT_*`` variables, cwd = workspace, like the runner."""
    env = runner_env(workspace, inputs, extra)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "entrypoint.py"), *(args or [])],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return Result(
        proc.returncode,
        proc.stdout,
        proc.stderr,
        parse_outputs(Path(env["GITHUB_OUTPUT"]).read_text()),
        Path(env["GITHUB_STEP_SUMMARY"]).read_text(),
        workspace,
    )


def run_inprocess(
    workspace: Path,
    inputs: dict[str, str],
    capsys: object,
    extra: dict[str, str] | None = None,
    args: list[str] | None = None,
) -> Result:
    """The same, in this process (fast): ``cli.main`` with an explicit environment."""
    from ml_action.cli import main

    env = runner_env(workspace, inputs, extra)
    cwd = os.getcwd()
    os.chdir(workspace)
    try:
        code = main(args or [], env)
    finally:
        os.chdir(cwd)
    captured = capsys.readouterr()  # type: ignore[attr-defined]
    return Result(
        code,
        captured.out,
        captured.err,
        parse_outputs(Path(env["GITHUB_OUTPUT"]).read_text()),
        Path(env["GITHUB_STEP_SUMMARY"]).read_text(),
        workspace,
    )
