"""Reference rows kept at publish: written, listed with their sha256, read back checked, and compared with
fresh rows by the two-sample bootstrap."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ml_action.adapters.registry.base import Registry
from ml_action.adapters.registry.local import LocalStore
from ml_action.core.metrics import Predictions
from ml_action.errors import UserError
from ml_action.records import reference as ref
from ml_action.records.artifacts import save_model


def _preds(n: int, seed: int, acc: float, classes: list = [0, 1]) -> tuple[np.ndarray, Predictions]:  # noqa: B006
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(classes), n)
    right = rng.random(n) < acc
    labels = np.where(right, y, 1 - y)
    p1 = np.clip(np.where(labels == 1, 0.7, 0.3) + rng.normal(0, 0.1, n), 0.01, 0.99)
    return np.asarray(classes)[y], Predictions(
        np.asarray(classes)[labels], np.column_stack((1 - p1, p1)), list(classes)
    )


def _publish(tmp: Path, with_reference: bool = True) -> tuple[Registry, dict]:
    from sklearn.linear_model import LogisticRegression

    registry = Registry(LocalStore(tmp / "reg"), "m")
    model = tmp / "model.skops"
    save_model(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), model)
    fields: dict = {"metrics": {}}
    extra = {}
    if with_reference:
        y, preds = _preds(300, 1, 0.8)
        fields["reference"] = ref.write_reference(y, preds, tmp / ref.FILE)
        extra = {ref.FILE: tmp / ref.FILE}
    version = registry.allocate_version({})
    return registry, registry.write_version(version, model, fields, extra_files=extra)


def test_round_trip_through_the_registry(tmp_path: Path) -> None:
    registry, manifest = _publish(tmp_path)
    assert manifest["artifacts"][ref.FILE]["sha256"]
    assert manifest["reference"] == {"file": ref.FILE, "rows": 300, "proba_columns": 2, "classes": [0, 1]}
    work = tmp_path / "work"
    work.mkdir()
    got = ref.read_reference(registry, "v1", manifest, work)
    assert not isinstance(got, str)
    y, preds = got
    y0, p0 = _preds(300, 1, 0.8)
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(preds.labels, p0.labels)
    np.testing.assert_allclose(preds.proba, p0.proba)
    assert preds.classes == [0, 1]


def test_old_versions_have_no_reference(tmp_path: Path) -> None:
    registry, manifest = _publish(tmp_path, with_reference=False)
    why = ref.read_reference(registry, "v1", manifest, tmp_path)
    assert isinstance(why, str) and "without reference rows" in why


def test_an_altered_reference_is_refused(tmp_path: Path) -> None:
    registry, manifest = _publish(tmp_path)
    stored = tmp_path / "reg" / "m" / "versions" / "v1" / ref.FILE
    stored.chmod(0o644)
    stored.write_bytes(stored.read_bytes() + b"x")
    with pytest.raises(UserError, match="altered"):
        ref.read_reference(registry, "v1", manifest, tmp_path)


def test_a_reference_that_does_not_match_its_description_is_not_used(tmp_path: Path) -> None:
    registry, manifest = _publish(tmp_path)
    lying = {**manifest, "reference": {**manifest["reference"], "rows": 999}}
    why = ref.read_reference(registry, "v1", lying, tmp_path)
    assert isinstance(why, str) and "do not match" in why


def test_fresh_vs_reference_on_labels_and_probabilities() -> None:
    reference = _preds(800, 2, 0.85)
    same = _preds(1500, 3, 0.85)
    worse = _preds(1500, 4, 0.65)
    for metric in ("f1_macro", "accuracy", "roc_auc", "log_loss"):
        res = ref.fresh_vs_reference(metric, reference, same, 300, 0, 0.95)
        assert not isinstance(res, str), res
        assert res.fresh_rows == 1500 and res.reference_rows == 800
    drop = ref.fresh_vs_reference("accuracy", reference, worse, 300, 0, 0.95)
    assert not isinstance(drop, str) and drop.high < -0.1


def test_fresh_vs_reference_says_why_not() -> None:
    y, p = _preds(100, 5, 0.8)
    no_proba = (y, Predictions(p.labels, None, p.classes))
    assert "probabilities" in ref.fresh_vs_reference("roc_auc", no_proba, (y, p), 50, 0, 0.95)
    other = (y, Predictions(p.labels, p.proba, ["a", "b"]))
    assert "other classes" in ref.fresh_vs_reference("log_loss", other, (y, p), 50, 0, 0.95)


def test_reference_file_is_an_accepted_artifact_name() -> None:
    from ml_action.adapters.registry.schema import ARTIFACT_NAMES, REFERENCE_FILE

    assert ref.FILE == REFERENCE_FILE and ref.FILE in ARTIFACT_NAMES
