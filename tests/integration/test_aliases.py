"""Aliases beyond ``champion``: names, pointers, tombstones, events, compare-and-swap, ``mode: alias`` and ``list``."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from ml_action.adapters.registry.aliases import check_alias_name
from ml_action.adapters.registry.base import Registry
from ml_action.adapters.registry.local import LocalStore
from ml_action.adapters.registry.schema import DamagedObject, parse_alias
from ml_action.adapters.runner import Runner
from ml_action.context import RunContext
from ml_action.errors import UserError
from ml_action.modes import MODES
from tests.helpers import make_config, parse_outputs
from tests.integration.test_registry_local import _publish


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    reg = Registry(LocalStore(tmp_path / "reg"), "model")
    for _ in range(3):
        _publish(reg, tmp_path)
    return reg


def _sha(reg: Registry, version: str) -> str:
    return str(reg.manifest(version)["artifacts"]["model.skops"]["sha256"])


@pytest.mark.parametrize("name", ["staging", "a", "challenger-2", "a" + "b" * 40])
def test_valid_alias_names(name: str) -> None:
    assert check_alias_name(name) == name


@pytest.mark.parametrize("name", ["", "Staging", "2nd", "-x", "a_b", "a" * 42, "../x", "a b", "stag\ning"])
def test_invalid_alias_names(name: str) -> None:
    with pytest.raises(UserError) as err:
        check_alias_name(name)
    assert err.value.input == "alias" and "not a valid alias name" in err.value.problem


def test_champion_is_reserved() -> None:
    with pytest.raises(UserError, match="reserved"):
        check_alias_name("champion")
    assert check_alias_name("champion", allow_reserved=True) == "champion"


def test_set_move_remove_with_an_event_each(registry: Registry) -> None:
    assert registry.aliases() == {}
    changed, pointer, _ = registry.swap_alias("staging", "v1", _sha(registry, "v1"), "me")
    assert changed and pointer and pointer["previous"] is None
    changed, pointer, _ = registry.swap_alias("staging", "v2", _sha(registry, "v2"), "me")
    assert changed and pointer and pointer["previous"] == "v1"
    assert {k: p["version"] for k, p in registry.aliases().items()} == {"staging": "v2"}
    changed, _, why = registry.swap_alias("staging", "v2", _sha(registry, "v2"), "me")
    assert not changed and "already points at v2" in why
    changed, pointer, _ = registry.swap_alias("staging", None, None, "me")
    assert changed and pointer and pointer["version"] is None and pointer["previous"] == "v2"
    assert registry.aliases() == {} and registry.alias("staging") is None
    events = [e for e in registry.events() if e.get("alias") == "staging"]
    assert [(e["kind"], e["version"], e["previous"], e["to"]) for e in events] == [
        ("alias", "v1", None, "v1"),
        ("alias", "v2", "v1", "v2"),
        ("unalias", "v2", "v2", None),
    ]
    assert registry.alias("champion")["version"] == "v3"  # type: ignore[index]


def test_resolve_alias_names_the_set_ones(registry: Registry) -> None:
    registry.swap_alias("staging", "v1", _sha(registry, "v1"), "me")
    assert registry.resolve_alias("staging")["version"] == "v1"
    assert registry.resolve_alias("champion")["version"] == "v3"
    with pytest.raises(UserError) as err:
        registry.resolve_alias("canary")
    assert "'canary' is not set" in err.value.problem and "champion, staging" in err.value.hint


def test_concurrent_setters_are_serialised_never_lost(registry: Registry, tmp_path: Path) -> None:
    """Eight threads, each with its own Registry, set the same alias at once: every change lands in turn,
    and the events form one chain (each replaced the pointer the previous one wrote)."""
    root = tmp_path / "reg"
    shas = {v: _sha(registry, v) for v in ("v1", "v2", "v3")}
    barrier = threading.Barrier(8)
    results: list[bool] = []

    def setter(i: int) -> None:
        version = ("v1", "v2", "v3")[i % 3]
        reg = Registry(LocalStore(root), "model")
        barrier.wait()
        changed, _, _ = reg.swap_alias("staging", version, shas[version], f"t{i}")
        results.append(changed)

    threads = [threading.Thread(target=setter, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    events = [e for e in registry.events() if e.get("alias") == "staging"]
    assert len(events) == results.count(True) >= 1
    # a chain: the first replaced nothing, each later one replaced the version the one before set
    ordered = sorted(events, key=lambda e: e["at"])
    assert ordered[0]["previous"] is None
    assert all(b["previous"] == a["to"] for a, b in zip(ordered, ordered[1:], strict=False))
    assert registry.alias("staging")["version"] == ordered[-1]["to"]  # type: ignore[index]


def test_a_damaged_alias_pointer_is_refused(registry: Registry) -> None:
    path = Path(registry.store.url(registry.key("aliases", "staging.json")))
    path.parent.mkdir(parents=True)
    bad = {"alias": "staging", "version": "../../etc", "sha256": "0" * 64}
    path.write_text(json.dumps(bad))
    with pytest.raises(DamagedObject, match="not a version id"):
        registry.resolve_alias("staging")
    problems: list[str] = []
    assert registry.aliases(on_damage=problems.append) == {} and len(problems) == 1
    for data, problem in (
        (b"[]", "JSON list"),
        (json.dumps({**bad, "alias": "other", "version": "v1"}).encode(), "in the object of staging"),
        (json.dumps({"alias": "staging", "version": None, "sha256": "0" * 64}).encode(), "`sha256` is set"),
    ):
        with pytest.raises(DamagedObject, match=problem):
            parse_alias(data, "x", "staging")


# ---------------------------------------------------------------------------------------------- the modes


def _run(registry: Registry, tmp_path: Path, mode: str, **kw: object) -> tuple[int, dict[str, str], str]:
    output, summary = tmp_path / "output", tmp_path / "summary"
    output.write_text("")
    summary.write_text("")
    config = make_config(tmp_path, mode=mode, model_name="model", **kw)
    ctx = RunContext(output_path=str(output), summary_path=str(summary), run_id="7", actor="tester")
    workdir = tmp_path / "work"
    workdir.mkdir(exist_ok=True)
    code = MODES[mode](config, ctx, Runner(ctx), registry, workdir)
    return code, parse_outputs(output.read_text()), summary.read_text()


def test_alias_mode_sets_lists_and_removes(registry: Registry, tmp_path: Path) -> None:
    code, out, summary = _run(registry, tmp_path, "alias", alias="staging", to_version="v2")
    assert code == 0 and out["model-version"] == "v2" and "`unset` → `v2`" in summary
    code, out, summary = _run(registry, tmp_path, "alias", alias="canary", to_version="champion")
    assert code == 0 and out["model-version"] == "v3"
    code, out, summary = _run(registry, tmp_path, "alias", alias="staging", to_version="v2")
    assert code == 0 and "unchanged" in summary
    code, out, summary = _run(registry, tmp_path, "list")
    rows = {r["version"]: r for r in json.loads(out["versions"])}
    assert rows["v2"]["aliases"] == ["staging"] and rows["v3"]["aliases"] == ["canary"] and rows["v3"]["champion"]
    assert "| `v2` |  | `staging` |" in summary
    code, out, summary = _run(registry, tmp_path, "alias", alias="staging", remove_alias=True)
    assert code == 0 and out["model-version"] == "" and "Removed alias `staging`" in summary
    assert list(registry.aliases()) == ["canary"]


@pytest.mark.parametrize(
    ("kw", "input_name", "words"),
    [
        ({"to_version": "v1"}, "alias", "is required"),
        ({"alias": "champion", "to_version": "v1"}, "alias", "reserved"),
        ({"alias": "Bad Name", "to_version": "v1"}, "alias", "not a valid alias name"),
        ({"alias": "staging"}, "to-version", "is required"),
        ({"alias": "staging", "to_version": "v1", "remove_alias": True}, "remove-alias", "is true while"),
        ({"alias": "staging", "to_version": "v9"}, "to-version", "does not exist"),
        ({"alias": "staging", "remove_alias": True}, "alias", "nothing to remove"),
    ],
)
def test_alias_mode_bad_input(
    registry: Registry, tmp_path: Path, kw: dict[str, object], input_name: str, words: str
) -> None:
    with pytest.raises(UserError) as err:
        _run(registry, tmp_path, "alias", **kw)
    assert err.value.input == input_name and words in err.value.problem
    assert registry.aliases() == {}


def test_alias_mode_refuses_a_tampered_version(registry: Registry, tmp_path: Path) -> None:
    model = Path(registry.store.url(registry.key("versions", "v1", "model.skops")))
    model.write_bytes(model.read_bytes() + b"x")
    with pytest.raises(UserError, match="sha256"):
        _run(registry, tmp_path, "alias", alias="staging", to_version="v1")
    assert registry.aliases() == {}


def test_alias_mode_errors_are_one_annotation(
    registry: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ml_action import cli

    env = {
        "GITHUB_WORKSPACE": str(tmp_path),
        "INPUT_MODE": "alias",
        "INPUT_REGISTRY": str(tmp_path / "reg"),
        "INPUT_MODEL-NAME": "model",
        "INPUT_ALIAS": "champion",
        "INPUT_TO-VERSION": "v1",
    }
    assert cli.run({}, env) == 1
    errors = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and errors[0].startswith("::error title=alias::") and "reserved" in errors[0]
    assert registry.champion()[0]["version"] == "v3" and registry.aliases() == {}  # type: ignore[index]
    assert cli.run({}, {**env, "INPUT_ALIAS": "staging"}) == 0
    assert registry.alias("staging")["version"] == "v1"  # type: ignore[index]
