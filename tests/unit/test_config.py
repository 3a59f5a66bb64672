"""Config: precedence of the four sources and validation of single values."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from ml_action.config import INPUTS, Config, Gate, load_config
from ml_action.errors import UserError
from ml_action.inputs import parse_gates
from tests.helpers import make_config


def test_defaults(tmp_path: Path) -> None:
    config = load_config({"GITHUB_WORKSPACE": str(tmp_path)})
    assert config.test_size == 0.2 and config.seed == 42 and config.model == "random_forest"
    assert config.registry == ".ml-action/registry" and config.fail_on_gate is True and config.gates == ()


def test_precedence_defaults_file_inputs_flags(tmp_path: Path) -> None:
    (tmp_path / "ml-action.yml").write_text("seed: 1\ntest-size: 0.3\nmodel: ridge\ncv: 2\n")
    env = {"GITHUB_WORKSPACE": str(tmp_path), "INPUT_TEST-SIZE": "0.4", "INPUT_MODEL": "knn", "INPUT_CV": ""}
    config = load_config(env, {"model": "svm"})
    assert config.seed == 1  # file over default
    assert config.test_size == 0.4  # input over file
    assert config.model == "svm"  # flag over input
    assert config.cv == 2  # an empty input does not override the file


def test_config_file_underscore_keys_and_explicit_path(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "ml.yml").write_text("test_size: 0.25\nparams: {alpha: 2}\n")
    config = load_config({"GITHUB_WORKSPACE": str(tmp_path), "INPUT_CONFIG": "conf/ml.yml"})
    assert config.test_size == 0.25 and config.params == {"alpha": 2}


@pytest.mark.parametrize(
    ("env", "input_name"),
    [
        ({"INPUT_TEST-SIZE": "1.5"}, "test-size"),
        ({"INPUT_TEST-SIZE": "0"}, "test-size"),
        ({"INPUT_TEST-SIZE": "abc"}, "test-size"),
        ({"INPUT_SEED": "x"}, "seed"),
        ({"INPUT_PARAMS": "[1, 2]"}, "params"),
        ({"INPUT_PARAMS": "{a: [1"}, "params"),
        ({"INPUT_GATES": "- metric: f1\n  min: high"}, "gates"),
        ({"INPUT_GATES": "- min: 0.3"}, "gates"),
        ({"INPUT_GATES": "metric: [unclosed"}, "gates"),
        ({"INPUT_GATES": "- metric: f1_macro\n  floor: 0.8"}, "gates"),
        ({"INPUT_FAIL-ON-GATE": "maybe"}, "fail-on-gate"),
        ({"INPUT_MODE": "deploy"}, "mode"),
        ({"INPUT_TASK": "clustering"}, "task"),
        ({"INPUT_CONFIG": "missing.yml"}, "config"),
        ({"INPUT_MODEL-NAME": "../escape"}, "model-name"),
    ],
)
def test_bad_values_name_their_input(tmp_path: Path, env: dict[str, str], input_name: str) -> None:
    with pytest.raises(UserError) as info:
        load_config({"GITHUB_WORKSPACE": str(tmp_path), **env})
    assert info.value.input == input_name
    assert info.value.hint


def test_unknown_config_key_is_named(tmp_path: Path) -> None:
    (tmp_path / "ml-action.yml").write_text("tets-size: 0.3\n")
    with pytest.raises(UserError, match="tets-size"):
        load_config({"GITHUB_WORKSPACE": str(tmp_path)})


def test_gates_parse_all_limits() -> None:
    gates = parse_gates(
        "- metric: f1_macro\n  min: 0.8\n  max-regression: 0\n  max_regression_pct: 2\n"
        "- metric: rmse\n  max: 5\n- significant-regression: fail\n"
    )
    assert gates[0] == Gate("f1_macro", min=0.8, max_regression=0.0, max_regression_pct=2.0)
    assert gates[1] == Gate("rmse", max=5.0)
    assert gates[2].significant_regression == "fail"


def test_every_input_is_a_config_field_with_a_parser_and_description() -> None:
    assert [i.name for i in INPUTS] == [f.name.replace("_", "-") for f in fields(Config) if f.name != "config_file"]
    assert all(callable(i.parse) for i in INPUTS)
    assert all(i.description.endswith(".") for i in INPUTS)


def test_each_default_is_its_parsed_text(tmp_path: Path) -> None:
    config = Config(workspace=tmp_path)
    for spec in INPUTS:
        if spec.name == "workspace":  # resolved against GITHUB_WORKSPACE or the current folder by load_config
            continue
        assert getattr(config, spec.name.replace("-", "_")) == spec.parse(spec.name, spec.default), spec.name
    assert config == load_config({"GITHUB_WORKSPACE": str(tmp_path)})


def test_the_tests_config_factory_refuses_what_load_config_cannot_produce(tmp_path: Path) -> None:
    assert make_config(tmp_path, bootstrap=0, test_size=1, pr_number=3).bootstrap == 0
    assert make_config(tmp_path) == Config(workspace=tmp_path)
    with pytest.raises(TypeError, match="bootstrap='0' has type str, its default int"):
        make_config(tmp_path, bootstrap="0")
    with pytest.raises(AttributeError, match="no_such_input"):
        make_config(tmp_path, no_such_input=1)


def test_gate_confidence_and_on_inconclusive(tmp_path: Path) -> None:
    [gate] = parse_gates("- metric: f1_macro\n  max-regression: 0\n  confidence: 0.9")
    assert gate == Gate("f1_macro", max_regression=0.0, confidence=0.9)
    assert parse_gates("[{metric: f1_macro, min: 0.5}]")[0].confidence is None
    config = load_config(
        {
            "GITHUB_WORKSPACE": str(tmp_path),
            "INPUT_GATES": "[{metric: f1_macro, min: 0.5, confidence: 0.8}]",
            "INPUT_ON-INCONCLUSIVE": "FAIL",
        }
    )
    assert config.on_inconclusive == "fail"
    assert config.resolved()["gates"] == [{"metric": "f1_macro", "min": 0.5, "confidence": 0.8}]
    # the manifest's resolved gates parse back (monitor mode re-reads them)
    assert parse_gates(config.resolved()["gates"]) == config.gates
    assert load_config({"GITHUB_WORKSPACE": str(tmp_path)}).on_inconclusive == "pass"
