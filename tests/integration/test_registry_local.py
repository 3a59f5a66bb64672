"""The local registry: create-only versions, compare-and-swap champion, crash safety (concurrency: integration)."""

from __future__ import annotations

import json
import multiprocessing
import os
import pickle
from pathlib import Path

import pytest

from ml_action.adapters.registry.base import Registry
from ml_action.adapters.registry.local import LocalStore
from ml_action.adapters.registry.store import AlreadyExists, Conflict
from ml_action.errors import UserError
from ml_action.records.artifacts import save_model


def _model(seed: int = 0):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(random_state=seed).fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])


def _publish(registry: Registry, tmp: Path, accept: bool = True) -> str:
    path = tmp / f"m-{os.getpid()}-{len(registry.versions())}.skops"
    save_model(_model(), path)
    version = registry.allocate_version({"pid": os.getpid()})
    manifest = registry.write_version(version, path, {"metrics": {"f1_macro": 1.0}})
    registry.swap_champion(
        version,
        manifest["artifacts"]["model.skops"]["sha256"],
        "test",
        "promote",
        lambda current: (accept, "" if accept else "no"),
    )
    return version


def test_store_create_only_and_cas(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.create("a/b.json", b"1")
    with pytest.raises(AlreadyExists):
        store.create("a/b.json", b"2")
    assert store.read("a/b.json")[0] == b"1"
    store.replace("c.json", b"x", None)
    with pytest.raises(Conflict):
        store.replace("c.json", b"y", None)
    _, token = store.read("c.json")
    store.replace("c.json", b"y", token)
    with pytest.raises(Conflict):
        store.replace("c.json", b"z", token)
    assert store.read("c.json")[0] == b"y"


def test_publish_promote_and_previous(tmp_path: Path) -> None:
    registry = Registry(LocalStore(tmp_path / "reg"), "model")
    assert registry.champion() == (None, None)
    assert _publish(registry, tmp_path) == "v1"
    assert _publish(registry, tmp_path) == "v2"
    champion, _ = registry.champion()
    assert champion["version"] == "v2" and champion["previous"] == "v1"
    assert [e["kind"] for e in registry.events()] == ["promote", "promote"]
    assert registry.versions() == ["v1", "v2"]


def _crash_after_write(root: str) -> None:
    registry = Registry(LocalStore(Path(root)), "model")
    path = Path(root).parent / "crash.skops"
    save_model(_model(), path)
    version = registry.allocate_version({})
    registry.write_version(version, path, {})
    os._exit(3)  # killed between writing the version and swapping the pointer


def _crash_mid_version(root: str) -> None:
    registry = Registry(LocalStore(Path(root)), "model")
    registry.allocate_version({})
    os._exit(3)  # claimed an id, wrote no model and no manifest


@pytest.mark.parametrize("crash", [_crash_after_write, _crash_mid_version])
def test_crash_before_swap_leaves_old_champion(tmp_path: Path, crash) -> None:
    root = tmp_path / "reg"
    registry = Registry(LocalStore(root), "model")
    _publish(registry, tmp_path)
    before = registry.champion()[0]
    proc = multiprocessing.get_context("spawn").Process(target=crash, args=(str(root),))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 3
    assert registry.champion()[0] == before
    # the next run works and takes a fresh id
    version = _publish(registry, tmp_path)
    assert version == "v3"
    assert registry.champion()[0]["previous"] == "v1"


def test_refused_decision_keeps_champion(tmp_path: Path) -> None:
    registry = Registry(LocalStore(tmp_path / "reg"), "model")
    _publish(registry, tmp_path)
    _publish(registry, tmp_path, accept=False)
    assert registry.champion()[0]["version"] == "v1"


def test_tampered_model_is_refused(tmp_path: Path) -> None:
    registry = Registry(LocalStore(tmp_path / "reg"), "model")
    _publish(registry, tmp_path)
    path = tmp_path / "reg" / "model" / "versions" / "v1" / "model.skops"
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(UserError, match="v1.*sha256"):
        registry.fetch_model("v1", registry.manifest("v1"), tmp_path)


class _Evil:
    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


MARKER = "/tmp/ml-action-test-pwned"


def test_pickle_champion_refused_without_running_it(tmp_path: Path) -> None:
    if os.path.exists(MARKER):
        os.remove(MARKER)
    registry = Registry(LocalStore(tmp_path / "reg"), "model")
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps(_Evil()))
    version = registry.allocate_version({})
    manifest = registry.write_version(version, evil, {})
    with pytest.raises(UserError) as info:
        registry.fetch_model(version, manifest, tmp_path)
    assert info.value.input == "allow-unsafe-model-format"
    assert not os.path.exists(MARKER)


def test_rollback_resolution(tmp_path: Path) -> None:
    registry = Registry(LocalStore(tmp_path / "reg"), "model")
    _publish(registry, tmp_path)
    _publish(registry, tmp_path)
    assert registry.resolve_version("previous") == "v1"
    with pytest.raises(UserError) as info:
        registry.resolve_version("v9")
    assert info.value.input == "to-version"
    assert json.loads((tmp_path / "reg" / "model" / "champion.json").read_text())["version"] == "v2"
