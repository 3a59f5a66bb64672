"""Each user mistake: exit 1, one ``::error title=<input>::`` line that says what and how, no traceback,
nothing written to the registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import copy_example, run_action, run_inprocess

IRIS = {"data": "iris.csv", "target": "species"}
MIXED = '"one"'  # a text label among numbers


def _write(ws: Path, name: str, text: str | bytes) -> None:
    path = ws / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())


CASES: list[tuple[str, dict[str, str], dict[str, str | bytes], str, str]] = [
    # (id, inputs, files to write, input named, words in the message)
    ("missing data", {"data": "nope.csv", "target": "y"}, {}, "data", "does not exist"),
    ("data outside workspace", {"data": "../../etc/passwd.csv", "target": "y"}, {}, "data", "outside the workspace"),
    (
        "malformed csv",
        {"data": "bad.csv", "target": "y"},
        {"bad.csv": "a,y\n1,2\n3,4,5,6\n"},
        "data",
        "could not be read",
    ),
    (
        "binary csv",
        {"data": "bin.csv", "target": "y"},
        {"bin.csv": b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 40},
        "data",
        "bin.csv",
    ),
    ("unknown extension", {"data": "d.xlsx", "target": "y"}, {"d.xlsx": "x"}, "data", "unknown extension"),
    ("unknown target", {"data": "iris.csv", "target": "label"}, {}, "target", "'label' is not in the data"),
    ("unknown feature", {**IRIS, "features": "sepal_length, petal_size"}, {}, "features", "petal_size"),
    ("empty dataset", {"data": "empty.csv", "target": "y"}, {"empty.csv": "a,y\n"}, "data", "no rows"),
    (
        "one class",
        {"data": "one.csv", "target": "y"},
        {"one.csv": "a,y\n" + "1,k\n2,k\n3,k\n4,k\n5,k\n"},
        "target",
        "only one class",
    ),
    ("regression on text", {**IRIS, "task": "regression"}, {}, "task", "numeric target"),
    ("unknown model", {**IRIS, "model": "xgboostt"}, {}, "model", "unknown model 'xgboostt'"),
    ("unknown import path", {**IRIS, "model": "sklearn.ensemble.NopeClassifier"}, {}, "model", "unknown model"),
    (
        "factory returns no estimator",
        {**IRIS, "model": "factories:make"},
        {"factories.py": "def make():\n    return 42\n"},
        "model",
        "not a scikit-learn estimator",
    ),
    ("factory module missing", {**IRIS, "model": "nomodule:make"}, {}, "model", "cannot import"),
    ("params not a mapping", {**IRIS, "params": "[1, 2]"}, {}, "params", "not a mapping"),
    ("unknown params", {**IRIS, "params": '{"n_estimatorz": 5}'}, {}, "params", "n_estimators"),
    ("unknown primary metric", {**IRIS, "primary-metric": "auc"}, {}, "primary-metric", "unknown metric 'auc'"),
    ("metric of the wrong task", {**IRIS, "primary-metric": "rmse"}, {}, "primary-metric", "regression"),
    ("unknown gate metric", {**IRIS, "gates": "- metric: f2\n  min: 0.5"}, {}, "gates", "unknown metric 'f2'"),
    ("malformed gates", {**IRIS, "gates": "- metric: f1_macro\n  min: [0.5"}, {}, "gates", "not valid YAML"),
    ("gate without limit", {**IRIS, "gates": "- metric: f1_macro"}, {}, "gates", "sets no limit"),
    ("test-size too big", {**IRIS, "test-size": "1.2"}, {}, "test-size", "outside (0, 1)"),
    ("test-size zero", {**IRIS, "test-size": "0"}, {}, "test-size", "outside (0, 1)"),
    ("missing required target", {"data": "iris.csv"}, {}, "target", "required"),
    ("seed too large", {**IRIS, "seed": "99999999999"}, {}, "seed", "2**32"),
    ("one fold", {**IRIS, "cv": "1"}, {}, "cv", "not cross-validation"),
    ("binary gate on multiclass", {**IRIS, "gates": "- metric: f1\n  min: 0.5"}, {}, "gates", "binary target"),
    (
        "class without predict",
        {**IRIS, "model": "sklearn.preprocessing.StandardScaler"},
        {},
        "model",
        "not an estimator class",
    ),
    (
        "mixed label types",
        {"data": "mixed.jsonl", "target": "y"},
        {"mixed.jsonl": "".join(f'{{"a": {i}, "y": {1 if i % 2 else MIXED}}}\n' for i in range(40))},
        "target",
        "mixes label types",
    ),
    ("version id with a path", {"mode": "rollback", "to-version": "../../x"}, {}, "to-version", "not a version id"),
    ("report path is a folder", {**IRIS, "report-path": "."}, {}, "report-path", "is a folder"),
    ("report path under a file", {**IRIS, "report-path": "iris.csv/r.md"}, {}, "report-path", "under a file"),
    # checked before any work, so a bad comment-file never fails a run whose model was already promoted
    ("comment file is a folder", {**IRIS, "comment-file": "."}, {}, "comment-file", "is a folder"),
    ("comment file under a file", {**IRIS, "comment-file": "iris.csv/c.md"}, {}, "comment-file", "under a file"),
    ("comment file outside", {**IRIS, "comment-file": "../c.md"}, {}, "comment-file", "outside the workspace"),
    ("registry is a file", {**IRIS, "registry": "iris.csv"}, {}, "registry", "is a file"),
    (
        "confidence above 1",
        {**IRIS, "gates": "- metric: f1_macro\n  max-regression: 0\n  confidence: 1.5"},
        {},
        "gates",
        "outside (0, 1)",
    ),
    (
        "confidence of 0",
        {**IRIS, "gates": "- metric: f1_macro\n  min: 0.5\n  confidence: 0"},
        {},
        "gates",
        "outside (0, 1)",
    ),
    (
        "confidence of 1",
        {**IRIS, "gates": "- metric: f1_macro\n  min: 0.5\n  confidence: 1"},
        {},
        "gates",
        "outside (0, 1)",
    ),
    (
        "confidence not a number",
        {**IRIS, "gates": "- metric: f1_macro\n  min: 0.5\n  confidence: high"},
        {},
        "gates",
        "not a number",
    ),
    (
        "confidence without a metric",
        {**IRIS, "gates": "- significant-regression: fail\n  confidence: 0.9"},
        {},
        "gates",
        "needs a `metric`",
    ),
    (
        "confidence with the bootstrap off",
        {**IRIS, "bootstrap": "0", "gates": "- metric: f1_macro\n  min: 0.5\n  confidence: 0.9"},
        {},
        "gates",
        "no metric has one",
    ),
    (
        "confidence on a metric without an interval",
        {**IRIS, "model": "sklearn.svm.LinearSVC", "gates": "- metric: roc_auc\n  min: 0.5\n  confidence: 0.9"},
        {},
        "gates",
        "roc_auc has no interval",
    ),
    (
        "on-inconclusive not pass or fail",
        {**IRIS, "on-inconclusive": "maybe"},
        {},
        "on-inconclusive",
        "not one of pass, fail",
    ),
]


@pytest.mark.parametrize(("inputs", "files", "input_name", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    inputs: dict[str, str],
    files: dict[str, str | bytes],
    input_name: str,
    words: str,
) -> None:
    ws = copy_example("iris", tmp_path / "ws")
    (ws / "ml-action.yml").unlink()
    for name, text in files.items():
        _write(ws, name, text)
    result = run_inprocess(ws, {"mode": "publish", **inputs}, capsys)
    assert result.code == 1
    assert len(result.errors) == 1, result.stdout
    line = result.errors[0]
    assert line.startswith(f"::error title={input_name}::"), line
    assert words in line, line
    assert "Traceback" not in result.stdout + result.stderr
    assert not (ws / ".ml-action").exists()


def test_tampered_champion_is_refused_and_nothing_published(tmp_path: Path) -> None:
    ws = copy_example("iris", tmp_path / "ws")
    assert run_action(ws, {"mode": "publish"}).code == 0
    model = ws / ".ml-action/registry/model/versions/v1/model.skops"
    model.write_bytes(model.read_bytes()[:-10] + b"0123456789")
    result = run_action(ws, {"mode": "publish"})
    assert result.code == 1 and len(result.errors) == 1
    assert result.errors[0].startswith("::error title=registry::") and "v1" in result.errors[0]
    assert "sha256" in result.errors[0] and "Traceback" not in result.stderr
    assert not (ws / ".ml-action/registry/model/versions/v2").exists()


def test_unknown_flag_is_rejected_by_the_cli(tmp_path: Path) -> None:
    ws = copy_example("iris", tmp_path / "ws")
    result = run_action(ws, {}, args=["--test-sise", "0.3"])
    assert result.code == 2 and "unrecognized arguments" in result.stderr and "Traceback" not in result.stderr
