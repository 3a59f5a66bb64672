"""The registry layout and its promotion protocol, over any ``ObjectStore``.

Layout under ``<registry>/<model-name>/``::

    versions/<version>/claim.json      create-only: allocates the version id
    versions/<version>/model.skops     the model
    versions/<version>/manifest.json   written last: a version without it is incomplete and ignored
    champion.json                      pointer, replaced only by compare-and-swap
    events/<timestamp>-<version>-<kind>.json   append-only log
    data/<sha256>.parquet              content-addressed data snapshots

A crash anywhere before the compare-and-swap of ``champion.json`` leaves the old champion in place.
"""

from __future__ import annotations

import json
import re
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ml_action.artifacts import MODEL_FILE, load_model, sha256_file
from ml_action.errors import UserError

VERSION_RE = re.compile(r"^v(\d+)$")
MAX_CAS_ATTEMPTS = 20


class AlreadyExists(Exception):
    """A create-only write found the key already there."""


class Conflict(Exception):
    """A compare-and-swap found the object changed since it was read."""


class ObjectStore(Protocol):
    """Blob storage with create-only writes and compare-and-swap: the two primitives the registry needs."""

    uri: str

    def read(self, key: str) -> tuple[bytes, str] | None:
        """The object's bytes and a token for ``replace`` (an ETag), or None when absent."""

    def create(self, key: str, data: bytes) -> None:
        """Write ``data`` only if ``key`` does not exist; raise ``AlreadyExists`` otherwise."""

    def create_file(self, key: str, path: Path, sha256: str) -> None:
        """Upload a local file create-only, verified against ``sha256`` by the store where it can."""

    def replace(self, key: str, data: bytes, token: str | None) -> None:
        """Write ``data`` only if the object still has ``token`` (None: only if absent); else ``Conflict``."""

    def list(self, prefix: str) -> list[str]:
        """All keys starting with ``prefix``."""

    def download(self, key: str, dest: Path) -> bool:
        """Copy the object to ``dest``; False when it does not exist."""

    def url(self, key: str) -> str:
        """A URI naming the object, for reports (``s3://...`` or a path)."""


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def version_number(version: str) -> int:
    match = VERSION_RE.match(version)
    return int(match.group(1)) if match else -1


@dataclass
class Promotion:
    """What happened when we tried to make a version the champion."""

    promoted: bool
    version: str
    champion: dict[str, Any] | None
    previous: str | None = None
    reason: str = ""
    conflicts: list[str] = field(default_factory=list)


class Registry:
    """Versions, champion pointer and events of one model in one store."""

    def __init__(self, store: ObjectStore, model_name: str) -> None:
        self.store = store
        self.model_name = model_name

    # ------------------------------------------------------------------ keys
    def key(self, *parts: str) -> str:
        return "/".join((self.model_name, *parts))

    @property
    def uri(self) -> str:
        return self.store.url(self.model_name)

    # ------------------------------------------------------------------ reading
    def champion(self) -> tuple[dict[str, Any] | None, str | None]:
        """The champion pointer and its CAS token; ``(None, None)`` when there is no champion yet."""
        found = self.store.read(self.key("champion.json"))
        if found is None:
            return None, None
        data, token = found
        return json.loads(data), token

    def versions(self) -> list[str]:
        """Complete versions (those with a manifest), oldest first."""
        prefix = self.key("versions") + "/"
        complete = set()
        for key in self.store.list(prefix):
            rest = key[len(prefix):]
            version, _, name = rest.partition("/")
            if name == "manifest.json" and VERSION_RE.match(version):
                complete.add(version)
        return sorted(complete, key=version_number)

    def manifest(self, version: str, input_name: str = "to-version") -> dict[str, Any]:
        found = self.store.read(self.key("versions", version, "manifest.json"))
        if found is None:
            known = ", ".join(self.versions()[-10:]) or "none yet"
            raise UserError(input_name, f"version '{version}' does not exist in {self.uri}",
                            f"Use one of the published versions ({known}).")
        return json.loads(found[0])

    def events(self) -> list[dict[str, Any]]:
        out = []
        for key in sorted(self.store.list(self.key("events") + "/")):
            found = self.store.read(key)
            if found is not None:
                out.append(json.loads(found[0]))
        return out

    def fetch_model(self, version: str, manifest: dict[str, Any], workdir: Path,
                    allow_unsafe: bool = False) -> Any:
        """Download a version's model, check its sha256 against the manifest, and load it safely."""
        artifact = manifest.get("artifacts", {}).get(MODEL_FILE) or {}
        expected = artifact.get("sha256")
        name = artifact.get("file", MODEL_FILE)
        if not expected:
            raise UserError("registry", f"the manifest of version {version} records no sha256 for its model",
                            "Publish the model again with ml-action.")
        dest = workdir / f"{version}-{name}"
        if not self.store.download(self.key("versions", version, name), dest):
            raise UserError("registry", f"the model file of version {version} is missing from {self.uri}",
                            "Roll back to another version or publish anew.")
        return load_model(dest, expected, version, allow_unsafe=allow_unsafe)

    # ------------------------------------------------------------------ writing
    def allocate_version(self, info: dict[str, Any]) -> str:
        """Claim the next free ``v<N>`` with a create-only write: unique under concurrency."""
        prefix = self.key("versions") + "/"
        taken = [version_number(k[len(prefix):].split("/", 1)[0]) for k in self.store.list(prefix)]
        number = max(taken, default=0) + 1
        for _ in range(1000):
            version = f"v{number}"
            try:
                self.store.create(self.key("versions", version, "claim.json"),
                                  json.dumps({**info, "claimed_at": utc_now()}).encode())
                return version
            except AlreadyExists:
                number += 1
        raise RuntimeError("could not allocate a version id after 1000 attempts")

    def write_version(self, version: str, model_path: Path, manifest: dict[str, Any],
                      extra_files: dict[str, Path] | None = None) -> dict[str, Any]:
        """Upload the model (and extra files), then the manifest last. Returns the manifest written."""
        artifacts = {}
        for name, path in {MODEL_FILE: model_path, **(extra_files or {})}.items():
            digest = sha256_file(path)
            self.store.create_file(self.key("versions", version, name), path, digest)
            artifacts[name] = {"file": name, "sha256": digest, "size": path.stat().st_size}
        manifest = {**manifest, "version": version, "artifacts": artifacts}
        self.store.create(self.key("versions", version, "manifest.json"),
                          json.dumps(manifest, indent=2, sort_keys=True, default=str).encode())
        return manifest

    def write_event(self, kind: str, version: str, details: dict[str, Any]) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        event = {"kind": kind, "version": version, "at": utc_now(), **details}
        for _ in range(10):
            key = self.key("events", f"{stamp}-{version}-{kind}-{secrets.token_hex(3)}.json")
            try:
                self.store.create(key, json.dumps(event, sort_keys=True, default=str).encode())
                return key
            except AlreadyExists:
                continue
        raise RuntimeError("could not write the event")

    def swap_champion(self, version: str, sha256: str, by: str, reason: str,
                      decide: Callable[[dict[str, Any] | None], tuple[bool, str]],
                      details: dict[str, Any] | None = None) -> Promotion:
        """Point the champion at ``version`` by compare-and-swap.

        ``decide(current)`` is asked again whenever the champion changed under us (another run promoted
        first), so a newer champion is never overwritten blindly.
        """
        conflicts: list[str] = []
        seen_token: str | None = "<unread>"
        for _ in range(MAX_CAS_ATTEMPTS):
            current, token = self.champion()
            if token != seen_token:
                ok, why = decide(current)
                seen_token = token
                if not ok:
                    return Promotion(False, version, current, reason=why, conflicts=conflicts)
            previous = current.get("version") if current else None
            pointer = {"version": version, "sha256": sha256, "promoted_at": utc_now(), "by": by,
                       "previous": previous, "reason": reason, **(details or {})}
            try:
                self.store.replace(self.key("champion.json"),
                                   json.dumps(pointer, indent=2, sort_keys=True).encode(), token)
            except Conflict:
                conflicts.append(previous or "none")
                continue
            self.write_event(reason, version, {"previous": previous, "by": by, **(details or {})})
            return Promotion(True, version, pointer, previous=previous, conflicts=conflicts)
        raise UserError("registry", f"the champion of {self.uri} kept changing during {MAX_CAS_ATTEMPTS} "
                        "compare-and-swap attempts", "Run the job again; avoid many concurrent publishes.")

    def resolve_version(self, wanted: str, input_name: str = "to-version") -> str:
        """A version id from ``wanted``: an id, ``previous`` (before the champion) or ``champion``/``latest``."""
        champion, _ = self.champion()
        if wanted in ("", "champion"):
            if champion is None:
                raise UserError(input_name, "there is no champion yet", "Publish a model first.")
            return champion["version"]
        if wanted == "latest":
            versions = self.versions()
            if not versions:
                raise UserError(input_name, "no version is published yet", "Publish a model first.")
            return versions[-1]
        if wanted == "previous":
            if champion is None or not champion.get("previous"):
                raise UserError(input_name, "the champion has no previous version to roll back to",
                                "Name a version with `to-version: v<N>` (see `mode: list`).")
            return champion["previous"]
        if not VERSION_RE.match(wanted):
            raise UserError(input_name, f"'{wanted}' is not a version id",
                            "Use `previous`, `champion`, `latest` or an id like `v3` (see `mode: list`).")
        self.manifest(wanted, input_name)
        return wanted

    def verify_version(self, version: str, workdir: Path) -> dict[str, Any]:
        """Check a version's artifacts against its manifest without keeping them; return the manifest."""
        manifest = self.manifest(version)
        for name, artifact in manifest.get("artifacts", {}).items():
            with tempfile.TemporaryDirectory(dir=workdir) as tmp:
                dest = Path(tmp) / name
                if not self.store.download(self.key("versions", version, name), dest):
                    raise UserError("to-version", f"version {version} is missing its file {name}",
                                    "Pick another version (see `mode: list`).")
                if sha256_file(dest) != artifact.get("sha256"):
                    raise UserError("to-version", f"version {version}'s file {name} fails its sha256 check",
                                    "The artifact was altered or corrupted: pick another version.")
        return manifest
