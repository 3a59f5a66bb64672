"""Typed reads of a version's manifest, so callers never spell out its nesting.

A manifest read from the registry passed ``schema.parse_manifest`` (the model is listed, every artifact
has a 64-hex sha256); one returned by ``Registry.write_version`` was built by us. Either way these
accessors are the one place that knows where the digests sit: ``artifacts.<file>.sha256``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ml_action.errors import UserError
from ml_action.records.artifacts import MODEL_FILE


def artifact_sha256(manifest: Mapping[str, Any], name: str) -> str | None:
    """The sha256 the manifest records for the artifact ``name``, or None when it lists no such file."""
    artifacts = manifest.get("artifacts")
    artifact = artifacts.get(name) if isinstance(artifacts, Mapping) else None
    digest = artifact.get("sha256") if isinstance(artifact, Mapping) else None
    return digest if isinstance(digest, str) and digest else None


def model_sha256(manifest: Mapping[str, Any], version: str) -> str:
    """The sha256 of ``version``'s model file (``manifest`` is its manifest); a ``UserError`` when it records none."""
    digest = artifact_sha256(manifest, MODEL_FILE)
    if digest is None:
        raise UserError(
            "registry",
            f"the manifest of version {version} records no sha256 for its model",
            "Publish the model again with ml-action.",
        )
    return digest


def pointed_model_sha256(pointer: Mapping[str, Any], manifest: Mapping[str, Any], name: str) -> str:
    """The model's sha256 when the pointer ``name`` (``champion`` or an alias) records the same digest as the
    manifest of the version it names; a ``UserError`` when they differ (the registry was altered, and the
    model must not be loaded under either digest)."""
    version = str(pointer.get("version"))
    digest = model_sha256(manifest, version)
    expected = pointer.get("sha256")
    if expected is not None and expected != digest:
        what = "the champion" if name == "champion" else f"the alias '{name}'"
        raise UserError(
            "registry",
            f"{what} records sha256 {str(expected)[:12]}… for {version}, whose manifest records "
            f"{digest[:12]}…; nothing was loaded",
            "The registry was altered: set the alias again (or roll back) to repair it.",
        )
    return digest
