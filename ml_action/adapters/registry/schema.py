"""What a registry object may contain: ``champion.json``, alias pointers, manifests and events are untrusted input.

Anyone with write access to the bucket can put anything there, so every object is parsed and checked
here before the registry uses it: version ids match ``v<N>``, alias names ``[a-z][a-z0-9-]{0,40}``, artifact
file names come from a fixed set, sha256 digests are 64 hex characters, and every field has the type we
expect. A bad object raises ``DamagedObject`` naming its key and what is wrong. Paths are only ever built
from values that passed these checks, and ``confined`` checks the result once more.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ml_action.errors import DamagedObject
from ml_action.report.escape import shown

__all__ = ["DamagedObject", "confined", "parse_alias", "parse_event", "parse_manifest", "parse_pointer"]

VERSION_RE = re.compile(r"^v([0-9]{1,9})$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
EVENT_NAME_RE = re.compile(r"^[0-9]{8}T[0-9]{12}Z-v[0-9]{1,9}-[a-z]{1,20}-[0-9a-f]{6}\.json$")
ALIAS_RE = re.compile(r"^[a-z][a-z0-9-]{0,40}$")
RESERVED_ALIASES = frozenset({"champion"})  # moved by promotion and rollback only
MODEL_FILE = "model.skops"
CARD_FILE = "model-card.md"  # ml_action.records.card.FILE (a test keeps them equal)
REFERENCE_FILE = "reference.parquet"  # ml_action.records.reference.FILE (a test keeps them equal)
# The only artifact names a version may list: what ml-action writes, plus the pickle/joblib names a user
# may have put there by hand (loaded only with ``allow-unsafe-model-format``).
ARTIFACT_NAMES = frozenset({MODEL_FILE, CARD_FILE, REFERENCE_FILE})


MAX_POINTER_BYTES = 1_000_000  # champion.json, an alias, an event
MAX_MANIFEST_BYTES = 64_000_000  # a manifest with a profile of many columns and 1,000 sampled predictions


def _parse(data: bytes, where: str, limit: int = MAX_POINTER_BYTES) -> dict[str, Any]:
    from ml_action.records.safejson import BadJSON, loads

    try:
        value = loads(data, limit=limit)
    except BadJSON as exc:
        raise DamagedObject(where, f"it {exc}") from None
    if not isinstance(value, dict):
        raise DamagedObject(where, f"it holds a JSON {_kind(value)}, not an object")
    return value


def _kind(value: Any) -> str:
    return {
        list: "list",
        str: "string",
        int: "number",
        float: "number",
        bool: "boolean",
        type(None): "null",
        dict: "object",
    }.get(type(value), type(value).__name__)


def _expect(obj: dict[str, Any], name: str, types: type | tuple[type, ...], where: str, required: bool = False) -> Any:
    if name not in obj or obj[name] is None:
        if required:
            raise DamagedObject(where, f"it has no `{name}`")
        return None
    value = obj[name]
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in _as_tuple(types)):
        raise DamagedObject(where, f"`{name}` is a {_kind(value)}, not {_describe(types)}")
    return value


def _as_tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def _describe(types: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "a number", float: "a number", dict: "an object", list: "a list", bool: "a boolean"}
    return " or ".join(dict.fromkeys(names.get(t, t.__name__) for t in _as_tuple(types)))


def check_version(value: Any, where: str, field: str = "version") -> str:
    if not isinstance(value, str) or not VERSION_RE.match(value):
        raise DamagedObject(where, f"`{field}` is {_show(value)}, not a version id like v3")
    return value


def check_sha256(value: Any, where: str, field: str = "sha256") -> str:
    if not isinstance(value, str) or not SHA256_RE.match(value):
        raise DamagedObject(where, f"`{field}` is {_show(value)}, not 64 hex characters")
    return value


def _show(value: Any) -> str:
    return shown(value)


def parse_pointer(data: bytes, where: str) -> dict[str, Any]:
    """``champion.json``: ``version`` and ``sha256`` required; ``previous`` a version id or null."""
    pointer = _parse(data, where)
    check_version(_expect(pointer, "version", str, where, required=True), where)
    check_sha256(_expect(pointer, "sha256", str, where, required=True), where)
    return _check_links(pointer, where, ("promoted_at", "by", "reason"))


def check_alias(value: Any, where: str, field: str = "alias") -> str:
    if not isinstance(value, str) or not ALIAS_RE.match(value):
        raise DamagedObject(where, f"`{field}` is {_show(value)}, not an alias name")
    return value


def parse_alias(data: bytes, where: str, name: str) -> dict[str, Any]:
    """``aliases/<name>.json``: its own name; ``version`` and ``sha256`` both set, or both null (removed)."""
    pointer = _parse(data, where)
    if check_alias(_expect(pointer, "alias", str, where, required=True), where) != name:
        raise DamagedObject(where, f"`alias` is {_show(pointer['alias'])} in the object of {name}")
    if pointer.get("version") is None:
        if pointer.get("sha256") is not None:
            raise DamagedObject(where, "`sha256` is set but `version` is null")
    else:
        check_version(pointer["version"], where)
        check_sha256(_expect(pointer, "sha256", str, where, required=True), where)
    return _check_links(pointer, where, ("set_at", "by", "reason"))


def _check_links(pointer: dict[str, Any], where: str, texts: tuple[str, ...]) -> dict[str, Any]:
    """What every pointer (champion, alias) may carry: ``previous`` a version id, the ``texts`` strings, and
    ``event`` the name of its event file."""
    if pointer.get("previous") is not None:
        check_version(pointer["previous"], where, "previous")
    for key in texts:
        _expect(pointer, key, str, where)
    if pointer.get("event") is not None and not (
        isinstance(pointer["event"], str) and EVENT_NAME_RE.match(pointer["event"])
    ):
        raise DamagedObject(where, f"`event` is {_show(pointer['event'])}, not an event file name")
    return pointer


def parse_manifest(data: bytes, where: str, version: str) -> dict[str, Any]:
    """A version's ``manifest.json``: its own version id, and artifacts from the fixed set with their sha256."""
    manifest = _parse(data, where, MAX_MANIFEST_BYTES)
    if check_version(_expect(manifest, "version", str, where, required=True), where) != version:
        raise DamagedObject(where, f"`version` is {_show(manifest['version'])} in the folder of {version}")
    artifacts = _expect(manifest, "artifacts", dict, where, required=True)
    if MODEL_FILE not in artifacts:
        raise DamagedObject(where, f"`artifacts` lists no {MODEL_FILE}")
    for name, artifact in artifacts.items():
        if name not in ARTIFACT_NAMES:
            raise DamagedObject(
                where, f"`artifacts` names the file {_show(name)}, not one of {', '.join(sorted(ARTIFACT_NAMES))}"
            )
        if not isinstance(artifact, dict):
            raise DamagedObject(where, f"`artifacts.{name}` is a {_kind(artifact)}, not an object")
        if artifact.get("file", name) != name:
            raise DamagedObject(where, f"`artifacts.{name}.file` is {_show(artifact.get('file'))}, not {name}")
        check_sha256(artifact.get("sha256"), where, f"artifacts.{name}.sha256")
        size = artifact.get("size")
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
            raise DamagedObject(where, f"`artifacts.{name}.size` is {_show(size)}, not a size in bytes")
    for name, types in (
        ("metrics", dict),
        ("primary_metric", str),
        ("created_at", str),
        ("git", dict),
        ("data", dict),
        ("config", dict),
        ("run", dict),
        ("compared_with", dict),
        ("gates", dict),
        ("task", str),
        ("reference", dict),
    ):
        _expect(manifest, name, types, where)
    for metric, value in (manifest.get("metrics") or {}).items():
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool)):
            raise DamagedObject(where, f"`metrics.{_show(metric)}` is a {_kind(value)}, not a number")
    if manifest.get("git") is not None:
        _expect(manifest["git"], "sha", str, where)
    _check_snapshots(manifest, where)
    from ml_action.records.record_check import BadField, check_fields

    try:
        check_fields(manifest)
    except BadField as exc:
        raise DamagedObject(where, str(exc)) from None
    return manifest


def _check_snapshots(manifest: dict[str, Any], where: str) -> None:
    """``data.snapshots``: null, or per split the sha256 and the content-addressed key built from it."""
    snapshots = (manifest.get("data") or {}).get("snapshots")
    if snapshots is None:
        return
    if not isinstance(snapshots, dict):
        raise DamagedObject(where, f"`data.snapshots` is a {_kind(snapshots)}, not an object")
    for split, ref in snapshots.items():
        if split not in ("train", "test"):
            raise DamagedObject(where, f"`data.snapshots` names the split {_show(split)}, not train or test")
        if not isinstance(ref, dict):
            raise DamagedObject(where, f"`data.snapshots.{_show(split)}` is a {_kind(ref)}, not an object")
        digest = check_sha256(ref.get("sha256"), where, f"data.snapshots.{split}.sha256")
        if ref.get("key") != f"data/{digest}.parquet":
            raise DamagedObject(
                where, f"`data.snapshots.{split}.key` is {_show(ref.get('key'))}, not data/<its sha256>.parquet"
            )


def parse_event(data: bytes, where: str) -> dict[str, Any]:
    """One ``events/*.json``: ``kind``, ``version`` and ``at``; ``previous`` a version id or null."""
    event = _parse(data, where)
    _expect(event, "kind", str, where, required=True)
    check_version(_expect(event, "version", str, where, required=True), where)
    _expect(event, "at", str, where)
    if event.get("previous") is not None:
        check_version(event["previous"], where, "previous")
    if event.get("alias") is not None:
        check_alias(event["alias"], where)
    return event


def confined(parent: Path, name: str) -> Path:
    """``parent / name``, refusing any ``name`` that would resolve outside ``parent`` (``..``, ``/``, links)."""
    if not name or "/" in name or "\\" in name or name in (".", "..") or "\0" in name:
        raise DamagedObject(_show(name), "it is not a plain file name")
    path = parent / name
    root = parent.resolve()
    if path.resolve().parent != root:
        raise DamagedObject(_show(name), f"it resolves outside {parent}")
    return path
