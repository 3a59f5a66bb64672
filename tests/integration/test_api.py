"""The public API on a folder registry: load by alias and version, the sha256 cache, tampering, pickles,
``registry_info`` and ``ml-action fetch`` (the S3 side, with request counts, is in tests/integration)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import ml_action
from ml_action import cli
from ml_action.adapters.registry.base import Registry
from ml_action.adapters.registry.local import LocalStore
from ml_action.api import UnsafeModelWarning, default_cache_dir
from tests.integration.test_registry_local import _publish


@pytest.fixture
def reg_dir(tmp_path: Path) -> Path:
    root = tmp_path / "reg"
    reg = Registry(LocalStore(root), "churn")
    _publish(reg, tmp_path)
    _publish(reg, tmp_path)
    sha = reg.manifest("v1")["artifacts"]["model.skops"]["sha256"]
    reg.swap_alias("staging", "v1", sha, "test")
    return root


def _model_path(root: Path, version: str) -> Path:
    return root / "churn" / "versions" / version / "model.skops"


def test_import_is_light() -> None:
    code = (
        "import sys, ml_action; ml_action.__version__; "
        "heavy = ('sklearn', 'numpy', 'boto3', 'github', 'skops', 'ml_action.api'); "
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_load_by_alias_version_and_champion(reg_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    champion = ml_action.load_model(reg_dir, name="churn", cache_dir=cache)
    assert hasattr(champion, "predict")
    found = ml_action.fetch_model(reg_dir, "churn", alias="staging", cache_dir=cache)
    assert (found.version, found.alias, found.downloaded) == ("v1", "staging", True)
    assert found.path == cache / f"{found.sha256}.skops"
    again = ml_action.fetch_model(reg_dir, "churn", version="v1", cache_dir=cache)
    assert (again.alias, again.downloaded) == (None, False)  # same sha256: from the cache
    assert ml_action.fetch_model(reg_dir, "churn", version="latest", cache_dir=cache).version == "v2"
    assert ml_action.load_model(str(reg_dir), name="churn", version="v1", cache_dir=cache).predict([[3.0]])[0] == 1


@pytest.mark.parametrize(
    ("kw", "input_name", "words"),
    [
        ({"alias": "canary"}, "alias", "'canary' is not set"),
        ({"alias": "Bad"}, "alias", "not a valid alias name"),
        ({"version": "v9"}, "version", "does not exist"),
        ({"version": "nine"}, "version", "not a version id"),
        ({"alias": "staging", "version": "v1"}, "version", "both"),
    ],
)
def test_clear_errors(reg_dir: Path, tmp_path: Path, kw: dict[str, str], input_name: str, words: str) -> None:
    with pytest.raises(ml_action.UserError) as err:
        ml_action.load_model(reg_dir, name="churn", cache_dir=tmp_path / "c", **kw)  # type: ignore[arg-type]
    assert err.value.input == input_name and words in str(err.value)


def test_missing_registry_and_bad_name(tmp_path: Path) -> None:
    with pytest.raises(ml_action.UserError, match="not a folder"):
        ml_action.load_model(tmp_path / "nowhere", name="churn")
    with pytest.raises(ml_action.UserError, match="not a valid name"):
        ml_action.load_model(tmp_path, name="../etc")


def test_a_tampered_file_is_refused_and_never_cached(reg_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    path = _model_path(reg_dir, "v2")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    path.write_bytes(bytes(data))
    with pytest.raises(ml_action.UserError, match="fails its sha256 check"):
        ml_action.load_model(reg_dir, name="churn", cache_dir=cache)
    assert not [p for p in cache.iterdir() if p.suffix == ".skops"]


def test_a_corrupted_cache_entry_is_downloaded_again(reg_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    found = ml_action.fetch_model(reg_dir, "churn", cache_dir=cache)
    found.path.write_bytes(b"garbage")
    again = ml_action.fetch_model(reg_dir, "churn", cache_dir=cache)
    assert again.downloaded and hasattr(ml_action.load_model(reg_dir, "churn", cache_dir=cache), "predict")


def test_a_pointer_that_disagrees_with_the_manifest_is_refused(reg_dir: Path, tmp_path: Path) -> None:
    pointer = reg_dir / "churn" / "aliases" / "staging.json"
    data = json.loads(pointer.read_text())
    pointer.write_text(json.dumps({**data, "sha256": "f" * 64}))
    with pytest.raises(ml_action.UserError, match="registry was altered"):
        ml_action.load_model(reg_dir, name="churn", alias="staging", cache_dir=tmp_path / "c")


def test_a_pickle_needs_unsafe(tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    root = tmp_path / "reg"
    reg = Registry(LocalStore(root), "churn")
    pkl = tmp_path / "m.pkl"
    pkl.write_bytes(pickle.dumps(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])))
    version = reg.allocate_version({})
    manifest = reg.write_version(version, pkl, {})
    reg.swap_champion(version, manifest["artifacts"]["model.skops"]["sha256"], "t", "promote", lambda c: (True, ""))
    with pytest.raises(ml_action.UserError) as err:
        ml_action.load_model(root, "churn", cache_dir=tmp_path / "c")
    assert err.value.input == "allow-unsafe-model-format"
    with pytest.warns(UnsafeModelWarning, match="pickle"):
        assert ml_action.load_model(root, "churn", cache_dir=tmp_path / "c", unsafe=True).predict([[2.0]])[0] > 1.5
    out = tmp_path / "out.pkl"
    assert (
        cli.main(
            [
                "fetch",
                "--registry",
                str(root),
                "--model-name",
                "churn",
                "--out",
                str(out),
                "--cache-dir",
                str(tmp_path / "c"),
            ],
            env={},
        )
        == 1
        and not out.exists()
    )


def test_registry_info(reg_dir: Path) -> None:
    info = ml_action.registry_info(reg_dir, "churn")
    assert info["versions"] == ["v1", "v2"] and info["aliases"] == {"champion": "v2", "staging": "v1"}
    assert set(info["manifests"]) == {"v1", "v2"} and info["damaged"] == {}
    assert info["pointers"]["staging"]["by"] == "test"
    json.dumps(info)  # plain data
    (reg_dir / "churn" / "versions" / "v1" / "manifest.json").write_text("{")
    info = ml_action.registry_info(reg_dir, "churn")
    assert set(info["manifests"]) == {"v2"} and "not valid JSON" in info["damaged"]["v1"]
    assert "manifests" not in ml_action.registry_info(reg_dir, "churn", manifests=False)


def test_default_cache_dir() -> None:
    assert default_cache_dir({"ML_ACTION_CACHE_DIR": "/x/y"}) == Path("/x/y")
    assert default_cache_dir({"XDG_CACHE_HOME": "/c"}) == Path("/c/ml-action")
    assert default_cache_dir({}) == Path.home() / ".cache" / "ml-action"


def test_fetch_command(reg_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "deploy" / "model.skops"
    args = ["fetch", "--registry", str(reg_dir), "--model-name", "churn", "--cache-dir", str(tmp_path / "c")]
    assert cli.main([*args, "--alias", "staging", "--out", str(out)], env={}) == 0
    assert out.read_bytes() == _model_path(reg_dir, "v1").read_bytes()
    assert "version v1" in capsys.readouterr().out
    assert cli.main([*args, "--version", "v2", "--out", str(out)], env={}) == 0
    assert out.read_bytes() == _model_path(reg_dir, "v2").read_bytes()
    assert "from the cache" not in capsys.readouterr().out
    assert cli.main([*args, "--out", str(out)], env={}) == 0 and "from the cache" in capsys.readouterr().out
    _model_path(reg_dir, "v1").write_bytes(b"PK\x03\x04tampered")
    assert (
        cli.main(
            [*args, "--alias", "staging", "--out", str(tmp_path / "x.skops"), "--cache-dir", str(tmp_path / "fresh")],
            env={},
        )
        == 1
    )
    errors = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and "title=registry" in errors[0] and "sha256" in errors[0]
    assert not (tmp_path / "x.skops").exists()
    with pytest.raises(SystemExit):  # argparse: --alias and --version exclude each other
        cli.main([*args, "--alias", "staging", "--version", "v1"], env={})
