"""The ml-action image, run the way GitHub runs a Docker action (slow: builds the image)."""

from __future__ import annotations

import re
import shutil

import pytest

from .conftest import ROOT, Image, Runner

pytestmark = pytest.mark.container
HAS_MODES = (ROOT / "ml_action" / "modes.py").exists()


def test_version_through_the_entrypoint(image: Image, runner: Runner) -> None:
    init = (ROOT / "ml_action" / "__init__.py").read_text()
    match = re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", init, re.MULTILINE)
    assert match, "ml_action/__init__.py defines no __version__"
    done = runner.run(image, "version", {}, args=("--version",))
    assert done.returncode == 0, done.stderr
    assert match.group(1) in done.stdout


@pytest.mark.skipif(not HAS_MODES, reason="ml_action/modes.py is not written yet")
def test_evaluate_then_publish_on_iris(image: Image, runner: Runner) -> None:
    example = ROOT / "examples" / "iris"
    assert example.is_dir(), "examples/iris/ is needed by this test"
    shutil.copytree(example, runner.workspace, dirs_exist_ok=True)
    inputs = {"data": "iris.csv", "target": "species"}
    event = {"ref": "refs/heads/main", "after": "0" * 40,
             "repository": {"full_name": "octo/iris", "default_branch": "main"}}

    evaluated = runner.run(image, "evaluate", {"mode": "evaluate", **inputs}, event=event)
    assert evaluated.returncode == 0, evaluated.stdout + evaluated.stderr
    assert "verdict=" in runner.output("evaluate")
    assert runner.summary("evaluate").strip()

    published = runner.run(image, "publish", {"mode": "publish", **inputs}, event=event)
    assert published.returncode == 0, published.stdout + published.stderr
    assert "verdict=" in runner.output("publish")
    assert runner.summary("publish").strip()
    assert (runner.workspace / ".ml-action" / "registry" / "model" / "champion.json").is_file()
