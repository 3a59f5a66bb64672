"""The registry layout and its promotion protocol, over any ``ObjectStore``.

Layout under ``<registry>/<model-name>/``::

    versions/<version>/claim.json      create-only: allocates the version id
    versions/<version>/model.skops     the model
    versions/<version>/manifest.json   written last: a version without it is incomplete and ignored
    champion.json                      pointer, replaced only by compare-and-swap
    aliases/<name>.json                other named pointers (``staging``...), the same way (``aliases``)
    events/<timestamp>-<version>-<kind>.json   append-only log
    data/<sha256>.parquet              content-addressed data snapshots

A crash anywhere before the compare-and-swap of ``champion.json`` leaves the old champion in place.
Every object read back is untrusted input, checked by ``schema`` before it is used.
"""

from __future__ import annotations

import json
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ml_action.adapters.registry.aliases import AliasesMixin
from ml_action.adapters.registry.manifest import model_sha256
from ml_action.adapters.registry.schema import (
    ARTIFACT_NAMES,
    VERSION_RE,
    DamagedObject,
    check_sha256,
    check_version,
    confined,
    parse_event,
    parse_manifest,
    parse_pointer,
)
from ml_action.adapters.registry.store import UNSUPPORTED, AlreadyExists, ObjectStore, print_warning
from ml_action.adapters.registry.swap import MAX_ATTEMPTS, Decide, event_name, swap_pointer, write_event
from ml_action.errors import UserError
from ml_action.records.artifacts import MODEL_FILE, load_model, sha256_file
from ml_action.records.provenance import utc_now


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


class Registry(AliasesMixin):
    """Versions, champion pointer, aliases and events of one model in one store."""

    def __init__(self, store: ObjectStore, model_name: str, warn: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.model_name = model_name
        self.warn = warn or print_warning
        self._claims: dict[str, str] = {}  # version -> the nonce of our claim, to detect a lost race
        self._warned_unsupported = False

    # ------------------------------------------------------------------ keys
    def key(self, *parts: str) -> str:
        return "/".join((self.model_name, *parts))

    @property
    def uri(self) -> str:
        return self.store.url(self.model_name)

    def url_of(self, version: str, file: str | None = None) -> str:
        """Where a version (or one of its files) lives, for reports: ``s3://...`` or a path."""
        return self.store.url(self.key("versions", version, *([file] if file else [])))

    @staticmethod
    def data_key(sha256: str) -> str:
        """The content-addressed key of a data snapshot, relative to the model (``data/<sha256>.parquet``)."""
        return f"data/{check_sha256(sha256, 'a data snapshot')}.parquet"

    def data_url(self, sha256: str) -> str:
        return self.store.url(self.key(self.data_key(sha256)))

    # ------------------------------------------------------------------ reading
    def champion(self) -> tuple[dict[str, Any] | None, str | None]:
        """The champion pointer and its CAS token; ``(None, None)`` when there is no champion yet."""
        key = self.key("champion.json")
        found = self.store.read(key)
        if found is None:
            return None, None
        data, token = found
        return parse_pointer(data, self.store.url(key)), token

    def versions(self) -> list[str]:
        """Complete versions (those with a manifest), oldest first."""
        prefix = self.key("versions") + "/"
        complete = set()
        for key in self.store.list(prefix):
            rest = key[len(prefix) :]
            version, _, name = rest.partition("/")
            if name == "manifest.json" and VERSION_RE.match(version):
                complete.add(version)
        return sorted(complete, key=version_number)

    def manifest(self, version: str, input_name: str = "to-version") -> dict[str, Any]:
        """A version's manifest, checked against the schema (``DamagedObject`` when it does not match)."""
        if not VERSION_RE.match(version):
            raise UserError(input_name, f"'{version[:40]}' is not a version id", "Use an id like `v3`.")
        key = self.key("versions", version, "manifest.json")
        found = self.store.read(key)
        if found is None:
            known = ", ".join(self.versions()[-10:]) or "none yet"
            raise UserError(
                input_name,
                f"version '{version}' does not exist in {self.uri}",
                f"Use one of the published versions ({known}).",
            )
        return parse_manifest(found[0], self.store.url(key), version)

    def try_manifest(self, version: str) -> tuple[dict[str, Any] | None, str]:
        """``(manifest, "")``, or ``(None, what is wrong)`` for a damaged one: for listings that go on."""
        try:
            return self.manifest(version, "registry"), ""
        except DamagedObject as exc:
            return None, exc.problem

    def events(self) -> list[dict[str, Any]]:
        out = []
        for key in sorted(self.store.list(self.key("events") + "/")):
            found = self.store.read(key)
            if found is not None:
                out.append(parse_event(found[0], self.store.url(key)))
        return out

    def fetch_model(self, version: str, manifest: dict[str, Any], workdir: Path, allow_unsafe: bool = False) -> Any:
        """Download a version's model, check its sha256 against the manifest, and load it safely."""
        check_version(version, "the version id")
        expected = model_sha256(manifest, version)
        # the manifest passed the schema (the name is from a fixed set); the path is checked all the same
        dest = confined(workdir, f"{version}-{MODEL_FILE}")
        self.download_model(version, dest)
        return load_model(
            dest, expected, version, allow_unsafe=allow_unsafe, warn=self.warn, url=self.url_of(version, MODEL_FILE)
        )

    def download_model(self, version: str, dest: Path) -> None:
        """Copy a version's model file to ``dest`` (unchecked: the caller checks its sha256); a clear error
        when the registry lacks it."""
        if not self.download_artifact(version, MODEL_FILE, dest):
            raise UserError(
                "registry",
                f"the model file of version {version} is missing from {self.uri}",
                "Roll back to another version or publish anew.",
            )

    def download_artifact(self, version: str, name: str, dest: Path) -> bool:
        """Copy one file of a version to ``dest`` (unchecked: the caller checks its sha256); False when absent."""
        return self.store.download(self.key("versions", version, name), dest)

    def download_data(self, sha256: str, dest: Path) -> bool:
        """Copy a data snapshot to ``dest`` (unchecked: the caller checks its sha256); False when absent."""
        return self.store.download(self.key(self.data_key(sha256)), dest)

    # ------------------------------------------------------------------ writing
    @property
    def unchecked_writes(self) -> bool:
        """Whether the store's conditional writes are not guaranteed (``s3-conditional-writes: unsupported``)."""
        return getattr(self.store, "conditional_writes", "atomic") == UNSUPPORTED

    def _before_write(self) -> None:
        if self.unchecked_writes and not self._warned_unsupported:
            self._warned_unsupported = True
            self.warn(
                f"s3-conditional-writes is `unsupported`: {self.uri} is written without create-only and "
                "compare-and-swap guarantees. This is safe only while a single job writes this registry at "
                "a time (a `concurrency:` group); ml-action re-reads what it wrote to detect a lost race."
            )

    def allocate_version(self, info: dict[str, Any]) -> str:
        """Claim the next free ``v<N>`` with a create-only write: unique under concurrency."""
        self._before_write()
        prefix = self.key("versions") + "/"
        taken = [version_number(k[len(prefix) :].split("/", 1)[0]) for k in self.store.list(prefix)]
        number = max(taken, default=0) + 1
        nonce = secrets.token_hex(8)
        for _ in range(1000):
            version = f"v{number}"
            try:
                self.store.create(
                    self.key("versions", version, "claim.json"),
                    json.dumps({**info, "claimed_at": utc_now(), "nonce": nonce}).encode(),
                )
                self._claims[version] = nonce
                return version
            except AlreadyExists:
                number += 1
        raise RuntimeError("could not allocate a version id after 1000 attempts")

    def write_version(
        self, version: str, model_path: Path, manifest: dict[str, Any], extra_files: dict[str, Path] | None = None
    ) -> dict[str, Any]:
        """Upload the model (and extra files), then the manifest last. Returns the manifest written."""
        self._before_write()
        artifacts = {}
        for name, path in {MODEL_FILE: model_path, **(extra_files or {})}.items():
            if name not in ARTIFACT_NAMES:
                raise ValueError(f"{name!r} is not an artifact name the registry schema accepts")
            digest = sha256_file(path)
            self.store.create_file(self.key("versions", version, name), path, digest)
            artifacts[name] = {"file": name, "sha256": digest, "size": path.stat().st_size}
        manifest = {**manifest, "version": version, "artifacts": artifacts}
        body = json.dumps(manifest, indent=2, sort_keys=True, default=str).encode()
        self.store.create(self.key("versions", version, "manifest.json"), body)
        if self.unchecked_writes:
            self._check_still_ours(version, body)
        return manifest

    def store_data(self, path: Path, sha256: str) -> bool:
        """Upload a data snapshot to its content-addressed key, create-only; False when that key holds it
        already (identical data: nothing is uploaded twice)."""
        try:
            self.store.create_file(self.key(self.data_key(sha256)), path, sha256)
        except AlreadyExists:
            return False
        return True

    def _check_still_ours(self, version: str, body: bytes) -> None:
        """Without create-only writes, another run may have claimed and written the same version: look."""
        claim = self.store.read(self.key("versions", version, "claim.json"))
        manifest = self.store.read(self.key("versions", version, "manifest.json"))
        nonce = self._claims.get(version)
        mine = claim is not None and nonce is not None and nonce.encode() in claim[0]
        if not mine or manifest is None or manifest[0] != body:
            raise UserError(
                "registry",
                f"another run wrote version {version} of {self.uri} at the same time, and "
                "the store does not refuse the second write (`s3-conditional-writes: unsupported`); "
                f"{version} may hold either run's files",
                "Serialise the jobs that publish with a `concurrency:` group, check this version with "
                "`mode: reproduce`, and publish again.",
            )

    def _write_event_of(self, pointer: dict[str, Any]) -> None:
        """Write the event named in a champion pointer, rebuilt from the pointer alone (so it can be repaired)."""
        name = pointer.get("event")
        if not name:
            return
        fixed = {"version", "sha256", "promoted_at", "reason", "event"}
        event = {
            "kind": pointer.get("reason") or "promote",
            "version": pointer["version"],
            "at": pointer.get("promoted_at"),
            **{k: v for k, v in pointer.items() if k not in fixed},
        }
        write_event(self.store, self.key("events", name), event)

    def swap_champion(
        self, version: str, sha256: str, by: str, reason: str, decide: Decide, details: dict[str, Any] | None = None
    ) -> Promotion:
        """Point the champion at ``version`` by compare-and-swap (``swap.swap_pointer``).

        ``decide(current)`` is asked again whenever the champion changed under us (another run promoted
        first), so a newer champion is never overwritten blindly.

        The promotion event is recorded atomically with the swap: the new pointer names its event file and
        carries every field of the event, so the event is written from it right after the swap and, if the
        run is killed in between, written again from the pointer by the next swap (create-only, so never
        twice). A failed swap leaves no event behind.
        """
        self._before_write()

        def build(current: dict[str, Any] | None) -> dict[str, Any]:
            return {
                "version": version,
                "sha256": sha256,
                "promoted_at": utc_now(),
                "by": by,
                "previous": current.get("version") if current else None,
                "reason": reason,
                **(details or {}),
                "event": event_name(version, reason),
            }

        key = self.key("champion.json")
        done = swap_pointer(
            self.store,
            key,
            read=self.champion,
            decide=decide,
            build=build,
            record=self._write_event_of,
            unchecked=self.unchecked_writes,
            parse=lambda data: parse_pointer(data, self.store.url(key)),
            exhausted=(
                f"the champion of {self.uri} kept changing during {MAX_ATTEMPTS} compare-and-swap attempts",
                "Run the job again; avoid many concurrent publishes.",
            ),
        )
        why = done.reason
        if done.lost:
            now = done.pointer.get("version") if done.pointer else None
            why = (
                f"another run replaced the champion of {self.uri} at the same moment "
                f"(it is now `{now}`) and the store does not refuse the second write "
                "(`s3-conditional-writes: unsupported`); serialise publishing jobs with a "
                "`concurrency:` group and check `mode: list`"
            )
        return Promotion(done.swapped, version, done.pointer, done.previous, why, done.conflicts)

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
                raise UserError(
                    input_name,
                    "the champion has no previous version to roll back to",
                    "Name a version with `to-version: v<N>` (see `mode: list`).",
                )
            return champion["previous"]
        if not VERSION_RE.match(wanted):
            raise UserError(
                input_name,
                f"'{wanted}' is not a version id",
                "Use `previous`, `champion`, `latest` or an id like `v3` (see `mode: list`).",
            )
        self.manifest(wanted, input_name)
        return wanted

    def verify_version(self, version: str, workdir: Path) -> dict[str, Any]:
        """Check a version's artifacts against its manifest without keeping them; return the manifest."""
        manifest = self.manifest(version)
        for name, artifact in manifest["artifacts"].items():
            with tempfile.TemporaryDirectory(dir=workdir) as tmp:
                dest = confined(Path(tmp), name)
                if not self.download_artifact(version, name, dest):
                    raise UserError(
                        "to-version",
                        f"version {version} is missing its file {name}",
                        "Pick another version (see `mode: list`).",
                    )
                if sha256_file(dest) != artifact.get("sha256"):
                    raise UserError(
                        "to-version",
                        f"version {version}'s file {name} fails its sha256 check",
                        "The artifact was altered or corrupted: pick another version.",
                    )
        return manifest
