"""The demo: train the churn example (categorical columns, missing values) twice with the embedded local
registry and show the second run compared with the champion of the first. Runs the same code the GitHub Action runs.

    python examples/demo.py            (after `pip install -e .`; see the README)
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from ml_action.cli import main  # noqa: E402


def run(workspace: Path, *flags: str) -> int:
    env = {**os.environ, "GITHUB_WORKSPACE": str(workspace)}
    env = {
        k: v for k, v in env.items() if not k.startswith("INPUT_") and k not in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")
    }
    return main(["run", *flags], env)


def demo() -> int:
    workspace = Path(tempfile.mkdtemp(prefix="ml-action-demo-"))
    shutil.copytree(
        HERE / "churn",
        workspace,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns(".ml-action", "ml-action-report.md"),
    )
    print(f"== demo workspace: {workspace} (registry in .ml-action/registry)\n")
    print(
        "== run 1: publish hist_gradient_boosting (100 iterations, learning rate 0.1) as the first champion\n",
        flush=True,
    )
    first = run(workspace, "--mode", "publish")
    print(f"\n== run 1 exit code: {first}\n")
    print("== run 2: evaluate slower, shallower boosting against that champion, on the same rows\n", flush=True)
    second = run(
        workspace, "--mode", "evaluate", "--params", '{"max_iter": 200, "learning_rate": 0.03, "max_depth": 3}'
    )
    print(f"\n== run 2 exit code: {second}; full report: {workspace / 'ml-action-report.md'}")
    return second


if __name__ == "__main__":
    sys.exit(demo())
