"""The README's "At a shell" walkthrough runs as written: its commands, in order, in a copy of the example
folder, with the installed ``ml-action`` console script, outside GitHub Actions; each exits 0."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPT = Path(sys.executable).parent / "ml-action"


def walkthrough() -> list[str]:
    """The command lines of the first ```bash block under '## At a shell'."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## At a shell\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.S)
    assert block, "README's 'At a shell' has no ```bash block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def shell_env() -> dict[str, str]:
    """A person's terminal: no runner variables, no action inputs. One OpenMP thread per process, as in
    ``tests.helpers.runner_env``: on a loaded machine HistGradientBoosting's threads oversubscribe the
    cores (a fit 10x slower); the commands and what they compute are the same."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("INPUT_", "GITHUB_", "RUNNER_")) and k not in ("CI", "ACTIONS_STEP_DEBUG")
    }
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def test_the_readme_walkthrough_runs_as_written(tmp_path: Path) -> None:
    assert CONSOLE_SCRIPT.exists(), f"the ml-action console script is not installed beside {sys.executable}"
    lines = walkthrough()
    cwd: Path | None = None
    ran = []
    for line in lines:
        argv = shlex.split(line, comments=True)
        if argv[:3] == ["pip", "install", "-e"]:
            continue  # the test runs in the venv where the package is installed
        if argv[0] == "cd":
            assert cwd is None and len(argv) == 2, f"one `cd` into an example folder is expected: {line}"
            cwd = tmp_path / Path(argv[1]).name
            shutil.copytree(ROOT / argv[1], cwd, ignore=shutil.ignore_patterns(".ml-action", "ml-action-*.md"))
            continue
        assert argv[0] == "ml-action", f"the walkthrough test knows `pip install -e`, `cd` and `ml-action`: {line}"
        assert cwd is not None, "the walkthrough runs ml-action inside an example folder"
        done = subprocess.run(
            [str(CONSOLE_SCRIPT), *argv[1:]], cwd=cwd, env=shell_env(), capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, (
            f"README walkthrough: `{line}` exited {done.returncode}\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
        )
        ran.append(argv[1:])
    assert any("publish" in args for args in ran) and any("rollback" in args for args in ran)

    # what the walkthrough's comments promise: two versions, v2 with its rows, the champion back on v1
    registry = cwd / ".ml-action" / "registry" / "model"
    assert sorted(p.name for p in (registry / "versions").iterdir()) == ["v1", "v2"]
    assert json.loads((registry / "champion.json").read_text())["version"] == "v1"
    assert json.loads((registry / "versions" / "v2" / "manifest.json").read_text())["data"]["snapshots"]
