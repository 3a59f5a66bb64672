"""The action's metadata and every workflow (ours and the examples to copy) pass the linters CI runs.

- check-jsonschema: action.yml against the GitHub Actions schema (SchemaStore, bundled with the tool)
- actionlint: the workflows, including the inputs passed to `uses: ./` (checked against action.yml)
- zizmor --offline: security audits, with the policy in .github/zizmor.yml

Each tool comes with the `test` extra; a test skips (saying which tool) when it is not installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted([*(ROOT / ".github" / "workflows").glob("*.yml"), *(ROOT / "examples" / "workflows").glob("*.yml")])


def _tool(name: str) -> str:
    """The tool next to this interpreter (the venv's bin/), else on PATH; skip when neither has it."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (it comes with `pip install -e '.[test]'`)")
    return found


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_there_are_workflows_to_check() -> None:
    names = {p.name for p in WORKFLOWS}
    assert {
        "ci.yml",
        "release.yml",
        "pr.yml",
        "fork-pr.yml",
        "fork-comment.yml",
        "publish.yml",
        "monitor.yml",
        "rollback.yml",
        "minio.yml",
        "reproduce.yml",
    } <= names


def test_action_yml_matches_the_github_actions_schema() -> None:
    done = _run([_tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", "action.yml"])
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint() -> None:
    done = _run([_tool("actionlint"), "-no-color", *(str(p.relative_to(ROOT)) for p in WORKFLOWS)])
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor() -> None:
    # files, not folders: zizmor collects only .github/workflows/ from a folder. It finds .github/zizmor.yml
    # itself for both folders.
    done = _run(
        [
            _tool("zizmor"),
            "--offline",
            "--no-progress",
            "--color",
            "never",
            *(str(p.relative_to(ROOT)) for p in WORKFLOWS),
        ]
    )
    assert done.returncode == 0, done.stdout + done.stderr
