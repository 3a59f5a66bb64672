"""The champion pointer's sha256 must equal the sha256 its version's manifest records for the model: a
pointer and a manifest that disagree mean the registry was altered, and evaluate, publish and monitor
refuse to load the model under either digest (one ``::error title=registry::``, exit 1, nothing published).
``load_model`` refused it already; the orchestrated runs did not compare the two."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import copy_example, run_action

REG = ".ml-action/registry/model"


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workspace = copy_example("iris", tmp_path_factory.mktemp("pointer") / "ws")
    assert run_action(workspace, {"mode": "publish"}).code == 0
    return workspace


def _altered(published: Path, dest: Path) -> Path:
    """A copy whose champion pointer names v1 with a well-formed sha256 that is not v1's model's."""
    workspace = Path(shutil.copytree(published, dest))
    path = workspace / REG / "champion.json"
    pointer = json.loads(path.read_text())
    assert pointer["version"] == "v1" and len(pointer["sha256"]) == 64
    pointer["sha256"] = "0" * 64
    path.write_text(json.dumps(pointer))
    return workspace


@pytest.mark.parametrize("mode", ["evaluate", "publish", "monitor"])
def test_a_pointer_that_disagrees_with_its_manifest_is_refused(published: Path, tmp_path: Path, mode: str) -> None:
    workspace = _altered(published, tmp_path / "ws")
    result = run_action(workspace, {"mode": mode})
    assert result.code == 1, result.stdout
    assert len(result.errors) == 1, result.stdout
    error = result.errors[0]
    assert error.startswith("::error title=registry::"), error
    assert "records sha256 000000000000" in error and "v1" in error and "nothing was loaded" in error
    assert "Traceback" not in result.stdout + result.stderr
    assert not (workspace / REG / "versions" / "v2").exists()
    assert json.loads((workspace / REG / "champion.json").read_text())["sha256"] == "0" * 64  # untouched


def test_the_unaltered_registry_still_evaluates(published: Path, tmp_path: Path) -> None:
    workspace = Path(shutil.copytree(published, tmp_path / "ws"))
    result = run_action(workspace, {"mode": "evaluate"})
    assert result.code == 0 and result.outputs["champion-version"] == "v1", result.stdout
