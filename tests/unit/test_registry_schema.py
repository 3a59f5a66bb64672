"""Registry objects are untrusted input: schema checks on read, confined paths, the skops trust list."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest

from ml_action.adapters.registry.base import Registry
from ml_action.adapters.registry.local import LocalStore
from ml_action.adapters.registry.schema import DamagedObject, confined
from ml_action.errors import UserError
from ml_action.records.artifacts import is_trusted_type, save_model


def _model() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])


def _publish(registry: Registry, tmp: Path) -> str:
    path = tmp / "m.skops"
    save_model(_model(), path)
    version = registry.allocate_version({})
    manifest = registry.write_version(version, path, {"metrics": {"f1_macro": 1.0}, "primary_metric": "f1_macro"})
    registry.swap_champion(
        version, manifest["artifacts"]["model.skops"]["sha256"], "t", "promote", lambda current: (True, "")
    )
    return version


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    reg = Registry(LocalStore(tmp_path / "reg"), "model")
    _publish(reg, tmp_path)
    _publish(reg, tmp_path)
    return reg


SHA = "a" * 64


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"not json{", "not valid JSON"),
        (b"[1, 2]", "JSON list"),
        (json.dumps({"sha256": SHA}).encode(), "no `version`"),
        (json.dumps({"version": "../v1", "sha256": SHA}).encode(), "not a version id"),
        (json.dumps({"version": "v1", "sha256": "abc"}).encode(), "not 64 hex"),
        (json.dumps({"version": "v1", "sha256": SHA, "previous": 3}).encode(), "`previous`"),
        (json.dumps({"version": "v1", "sha256": SHA, "event": "../../x.json"}).encode(), "`event`"),
    ],
)
def test_bad_champion_pointer(registry: Registry, body: bytes, problem: str) -> None:
    path = Path(registry.store.url(registry.key("champion.json")))
    path.write_bytes(body)
    with pytest.raises(DamagedObject) as err:
        registry.champion()
    assert err.value.input == "registry" and str(path) in err.value.problem and problem in err.value.problem


def _edit_manifest(registry: Registry, version: str, change: Any) -> None:
    path = Path(registry.store.url(registry.key("versions", version, "manifest.json")))
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps(change(manifest)))


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda m: [m], "JSON list"),
        (lambda m: {**m, "artifacts": [1]}, "`artifacts` is a list"),
        (lambda m: {**m, "artifacts": {}}, "lists no model.skops"),
        (lambda m: {**m, "version": "v9"}, "in the folder of v1"),
        (lambda m: {k: v for k, v in m.items() if k != "version"}, "no `version`"),
        (lambda m: {**m, "artifacts": {**m["artifacts"], "../../evil": {"sha256": SHA}}}, "names the file"),
        (
            lambda m: {
                **m,
                "artifacts": {"model.skops": {**m["artifacts"]["model.skops"], "file": "../../../../tmp/x"}},
            },
            "`artifacts.model.skops.file`",
        ),
        (lambda m: {**m, "artifacts": {"model.skops": {"sha256": 5}}}, "not 64 hex"),
        (lambda m: {**m, "metrics": {"f1": "high"}}, "not a number"),
        (lambda m: {**m, "metrics": [1]}, "`metrics` is a list"),
        (lambda m: {**m, "data": {"snapshots": {"train": {"sha256": SHA, "key": "../../etc/passwd"}}}}, "snapshots"),
    ],
)
def test_bad_manifest(registry: Registry, change: Any, problem: str) -> None:
    _edit_manifest(registry, "v1", change)
    with pytest.raises(DamagedObject) as err:
        registry.manifest("v1")
    assert "versions/v1/manifest.json" in err.value.problem and problem in err.value.problem
    assert registry.try_manifest("v1")[0] is None and problem in registry.try_manifest("v1")[1]
    assert registry.try_manifest("v2")[0] is not None  # one bad manifest breaks no other version


def test_rollback_target_damaged_refused_good_one_works(registry: Registry, tmp_path: Path) -> None:
    _publish(registry, tmp_path)  # v3 is champion, previous v2
    _edit_manifest(registry, "v2", lambda m: {**m, "artifacts": [1]})
    with pytest.raises(DamagedObject):
        registry.verify_version("v2", tmp_path)
    assert registry.verify_version("v1", tmp_path)["version"] == "v1"


def test_bad_event(registry: Registry) -> None:
    events = Path(registry.store.url(registry.key("events")))
    (events / "20990101T000000000000Z-v1-promote-abcdef.json").write_text('{"kind": "promote"}')
    with pytest.raises(DamagedObject) as err:
        registry.events()
    assert "no `version`" in err.value.problem


def test_traversal_in_a_manifest_writes_nothing_outside(registry: Registry, tmp_path: Path) -> None:
    target = tmp_path.parent / f"ml-action-escape-{os.getpid()}"
    relative = os.path.relpath(target, tmp_path / "work")
    _edit_manifest(
        registry,
        "v1",
        lambda m: {**m, "artifacts": {"model.skops": {**m["artifacts"]["model.skops"], "file": relative}}},
    )
    (tmp_path / "work").mkdir()
    with pytest.raises(UserError):
        registry.fetch_model("v1", registry.manifest("v1"), tmp_path / "work")
    with pytest.raises(UserError):
        registry.verify_version("v1", tmp_path / "work")
    # a manifest handed over without the schema check is still confined
    manifest = json.loads(Path(registry.store.url(registry.key("versions", "v1", "manifest.json"))).read_text())
    with pytest.raises(UserError):
        registry.fetch_model("../../v1", manifest, tmp_path / "work")
    assert not target.exists() and list((tmp_path / "work").iterdir()) == []


@pytest.mark.parametrize("name", ["../x", "a/b", "/etc/passwd", "..", "", "a\\b"])
def test_confined_refuses(tmp_path: Path, name: str) -> None:
    with pytest.raises(DamagedObject):
        confined(tmp_path, name)


def test_confined_refuses_a_symlink_out(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to("/tmp")
    with pytest.raises(DamagedObject):
        confined(tmp_path, "link")
    assert confined(tmp_path, "v1-model.skops") == tmp_path / "v1-model.skops"


def test_card_file_is_an_accepted_artifact_name() -> None:
    from ml_action.adapters.registry.schema import ARTIFACT_NAMES
    from ml_action.records.card import FILE

    assert FILE in ARTIFACT_NAMES


def test_trust_list_is_exported_classes_only() -> None:
    assert not is_trusted_type("sklearn.datasets._base.makedirs")  # os.makedirs under a sklearn name
    assert not is_trusted_type("sklearn.utils._testing.TempMemmap")
    assert not is_trusted_type("sklearn.externals._packaging.version.os")
    assert not is_trusted_type("builtins.eval") and not is_trusted_type("os.system")
    for name in (
        "sklearn.ensemble._forest.RandomForestClassifier",
        "sklearn.tree._tree.Tree",
        "sklearn.compose._column_transformer.ColumnTransformer",
        "sklearn.impute._base.SimpleImputer",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
        "numpy.dtype",
    ):
        assert is_trusted_type(name), name


# ------------------------------------------------------------------ the promotion event and a kill


class _DiesAfterSwap(LocalStore):
    def replace(self, key: str, data: bytes, token: str | None) -> None:
        super().replace(key, data, token)
        if json.loads(data)["version"] == "v2":
            os._exit(3)  # killed right after the swap, before the event is written


def _swap_then_die(root: str, tmp: str) -> None:
    _publish(Registry(_DiesAfterSwap(Path(root)), "model"), Path(tmp))


def test_event_lost_to_a_kill_is_repaired_by_the_next_swap(tmp_path: Path) -> None:
    root = tmp_path / "reg"
    registry = Registry(LocalStore(root), "model")
    _publish(registry, tmp_path)
    proc = multiprocessing.get_context("spawn").Process(target=_swap_then_die, args=(str(root), str(tmp_path)))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 3
    champion, _ = registry.champion()
    assert champion is not None and champion["version"] == "v2" and champion["event"]
    assert [e["version"] for e in registry.events()] == ["v1"]  # the kill lost it for now
    _publish(registry, tmp_path)  # the next run's swap writes it from the pointer, then its own
    events = registry.events()
    assert [(e["kind"], e["version"], e["previous"]) for e in events] == [
        ("promote", "v1", None),
        ("promote", "v2", "v1"),
        ("promote", "v3", "v2"),
    ]
    assert events[1]["at"] == champion["promoted_at"]


# ------------------------------------------------------------------ a store whose conditions are not guaranteed


class _LaxStore(LocalStore):
    """Ignores conditions like a lax S3-compatible store; ``rival`` writes right after us once."""

    rival: dict[str, bytes] = {}

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.conditional_writes = "unsupported"

    def _write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if key in self.rival:
            path.write_bytes(self.rival.pop(key))

    def create(self, key: str, data: bytes) -> None:
        self._write(key, data)

    def replace(self, key: str, data: bytes, token: str | None) -> None:
        self._write(key, data)


def test_unsupported_writes_warn_and_detect_a_lost_promotion(tmp_path: Path) -> None:
    warnings: list[str] = []
    store = _LaxStore(tmp_path / "reg")
    registry = Registry(store, "model", warnings.append)
    _publish(registry, tmp_path)
    assert len(warnings) == 1 and "concurrency:" in warnings[0]
    rival = {"version": "v1", "sha256": "b" * 64, "previous": None, "by": "other"}
    store.rival = {"model/champion.json": json.dumps(rival).encode()}
    path = tmp_path / "m2.skops"
    save_model(_model(), path)
    version = registry.allocate_version({})
    manifest = registry.write_version(version, path, {})
    promotion = registry.swap_champion(
        version, manifest["artifacts"]["model.skops"]["sha256"], "t", "promote", lambda current: (True, "")
    )
    assert not promotion.promoted and "at the same moment" in promotion.reason
    assert [e["version"] for e in registry.events()] == ["v1"]  # no event for a promotion that did not last


def test_unsupported_writes_detect_a_version_written_twice(tmp_path: Path) -> None:
    store = _LaxStore(tmp_path / "reg")
    registry = Registry(store, "model", lambda text: None)
    path = tmp_path / "m.skops"
    save_model(_model(), path)
    store.rival = {"model/versions/v1/claim.json": b'{"nonce": "someone-else"}'}  # claims v1 right after us
    version = registry.allocate_version({})
    with pytest.raises(UserError) as err:
        registry.write_version(version, path, {})
    assert "another run wrote version v1" in err.value.problem


# ------------------------------------------------------------------- bounded parsing, fields to the leaves (#30)


def _manifest(**fields: Any) -> bytes:
    return json.dumps({"version": "v1", "artifacts": {"model.skops": {"sha256": SHA}}, **fields}).encode()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 64 levels"),  # RecursionError in json before
        (_manifest(params={"a": json.loads("[" * 70 + "]" * 70)}), "nested deeper than 64 levels"),
        (b" " * 2_000_000, "larger than 1,000,000 bytes"),  # a pointer is small
    ],
)
def test_parsing_is_bounded_in_depth_and_size(body: bytes, problem: str) -> None:
    from ml_action.adapters.registry.schema import parse_manifest, parse_pointer

    parse = parse_pointer if body.startswith(b" ") else lambda d, w: parse_manifest(d, w, "v1")
    with pytest.raises(DamagedObject, match=problem):
        parse(body, "m/x.json")


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"features": 5}, "`features` is 5"),
        ({"features": ["a", 3]}, "`features[1]`"),
        ({"seed": "abc"}, "`seed`"),
        ({"seed": True}, "`seed`"),
        ({"seed": 2**40}, "`seed`"),
        ({"params": "x"}, "`params`"),
        ({"target": {}}, "`target`"),
        ({"task": "clustering"}, "`task`"),
        ({"classes": [[1]]}, "`classes[0]`"),
        ({"holdout_rows": -1}, "`holdout_rows`"),
        ({"reference": {"proba_columns": 300_000_000, "classes": ["a", "b"]}}, "from 0 to 2"),
        ({"reference": {"proba_columns": 1, "classes": ["a", "b"]}}, "not the 2 classes"),
        ({"reference": {"proba_columns": 2}}, "from 0 to 0"),
        ({"predictions": {"sample_rows": 5, "labels": [1]}}, "more than its 1 labels"),
        ({"predictions": {"proba": [[0.1, "x"]]}}, "`predictions.proba[0]`"),
        ({"data": {"profile": "junk"}}, "`data.profile`"),
        ({"data": {"profile": {"rows": 1, "columns": {"c": {"kind": "text"}}}}}, ".kind"),
        ({"data": {"profile": {"rows": 1, "columns": {"c": {"kind": "categorical", "other": 0}}}}}, "no `counts`"),
        ({"data": {"profile": {"rows": 1, "columns": {"c": {"kind": "numeric", "sample": ["1"]}}}}}, ".sample[0]"),
        (
            {"data": {"profile": {"rows": 1, "columns": {"c": {"kind": "boolean", "counts": {"a": -1}, "other": 0}}}}},
            "not a count",
        ),
        ({"config": {"gates": "nonsense"}}, "`config.gates`"),
        ({"gates": {"gates": [1]}}, "`gates.gates[0]`"),
    ],
)
def test_manifest_fields_are_checked_to_their_leaves(fields: dict[str, Any], problem: str) -> None:
    from ml_action.adapters.registry.schema import parse_manifest

    with pytest.raises(DamagedObject) as caught:
        parse_manifest(_manifest(**fields), "m/versions/v1/manifest.json", "v1")
    assert "m/versions/v1/manifest.json is damaged" in caught.value.problem and problem in caught.value.problem


def test_a_published_manifest_passes_every_leaf_check(registry: Registry) -> None:
    """What ml-action itself writes (profile, reference, predictions, config) passes."""
    import pandas as pd

    from ml_action.core.profile import profile_frame
    from ml_action.records.record_check import check_fields

    frame = pd.DataFrame({"x": [1.0, 2.0, None], "c": ["a", "b", "a"], "y": [0, 1, 0]})
    check_fields(
        {
            **registry.manifest("v1"),
            "data": {"profile": profile_frame(frame, "y", 0)},
            "reference": {"rows": 3, "proba_columns": 2, "classes": [0, 1]},
            "predictions": {"rows": 3, "sample_rows": 3, "labels": [0, 1, 0], "proba": [[0.5, 0.5]] * 3},
            "config": {"gates": [{"metric": "f1_macro", "min": 0.8}]},
            "seed": 42,
            "features": ["x", "c"],
        }
    )
