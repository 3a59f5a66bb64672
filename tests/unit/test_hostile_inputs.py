"""YAML inputs and the config file under attack (issue 30, item 10): an alias bomb in 700 bytes, lists nested
100,000 deep, and the size of every annotation line. Each is one ``::error`` naming the input, at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml_action.config import load_config
from ml_action.errors import UserError
from ml_action.inputs import MAX_YAML_DEPTH, load_yaml
from tests.helpers import copy_example, run_inprocess


def _bomb(levels: int = 9) -> str:
    """``a`` = 9 x's, each next list 9 of the previous: 9**levels strings once expanded (~580 MB at 9)."""
    lines = ["&a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"&a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "[" + ", ".join(lines) + "]"


def test_the_bomb_is_small_and_refused_before_it_expands() -> None:
    bomb = _bomb()
    assert len(bomb) < 800
    with pytest.raises(ValueError, match="alias"):
        load_yaml(bomb)
    assert load_yaml("[a, b]") == ["a", "b"] and load_yaml("x: &k 1\ny: 2") == {"x": 1, "y": 2}  # an anchor alone


@pytest.mark.parametrize("name", ["features", "drop", "params", "gates", "search"])
def test_alias_bombs_in_yaml_inputs_name_the_input(tmp_path: Path, name: str) -> None:
    value = _bomb() if name in ("features", "drop") else f"{{n_estimators: {_bomb()}}}"
    if name == "gates":
        value = f"- metric: f1_macro\n  min: {_bomb()}"
    with pytest.raises(UserError) as caught:
        load_config({"GITHUB_WORKSPACE": str(tmp_path), f"INPUT_{name.upper()}": value})
    assert caught.value.input == name and "alias" in caught.value.problem


@pytest.mark.parametrize("name", ["params", "search", "gates", "features"])
def test_deep_nesting_is_a_user_error(tmp_path: Path, name: str) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    value = deep if name == "features" else f"{{a: {deep}}}"
    with pytest.raises(UserError) as caught:
        load_config({"GITHUB_WORKSPACE": str(tmp_path), f"INPUT_{name.upper()}": value})
    assert caught.value.input == name and f"more than {MAX_YAML_DEPTH} deep" in caught.value.problem


def test_the_config_file_is_bounded_too(tmp_path: Path) -> None:
    (tmp_path / "ml-action.yml").write_text(f"features: {_bomb()}\n")
    with pytest.raises(UserError) as caught:
        load_config({"GITHUB_WORKSPACE": str(tmp_path)})
    assert caught.value.input == "config" and "alias" in caught.value.problem
    (tmp_path / "ml-action.yml").write_text("params: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(UserError, match="deep"):
        load_config({"GITHUB_WORKSPACE": str(tmp_path)})
    (tmp_path / "ml-action.yml").write_text("x" * 2_000_000)
    with pytest.raises(UserError, match="characters long"):
        load_config({"GITHUB_WORKSPACE": str(tmp_path)})


def test_a_bomb_through_the_action_is_one_short_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workspace = copy_example("iris", tmp_path / "ws")
    result = run_inprocess(workspace, {"features": _bomb()}, capsys)
    assert result.code == 1
    assert len(result.errors) == 1 and result.errors[0].startswith("::error title=features::"), result.errors
    assert len(result.errors[0]) < 1000
    assert "Traceback" not in result.stdout + result.stderr


def test_every_annotation_line_is_clipped(capsys: pytest.CaptureFixture[str]) -> None:
    from ml_action.adapters.runner import ANNOTATION_LIMIT, Runner
    from ml_action.context import RunContext

    runner = Runner(RunContext(github_actions=True))
    runner.error("missing columns: " + "x, " * 1_000_000, title="t" * 10_000)
    runner.warning("w" * 1_000_000)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(len(line) < ANNOTATION_LIMIT + 400 for line in lines), [len(x) for x in lines]
    assert "more characters]" in lines[0] and lines[0].startswith("::error title=ttt")
