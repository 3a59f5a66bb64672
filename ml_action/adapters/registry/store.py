"""The two primitives every registry store offers, and what they raise: create-only writes and
compare-and-swap (``ObjectStore``), ``AlreadyExists`` / ``Conflict``, plus the default warning hook the
stores and the registry share. Imported by ``base``, ``aliases``, ``swap`` and the stores, so none of
them needs another.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

UNSUPPORTED = "unsupported"  # ``s3-conditional-writes: unsupported``: the store may ignore the conditions


class AlreadyExists(Exception):
    """A create-only write found the key already there."""


class Conflict(Exception):
    """A compare-and-swap found the object changed since it was read."""


class ObjectStore(Protocol):
    """Blob storage with create-only writes and compare-and-swap: the two primitives the registry needs."""

    uri: str
    conditional_writes: str  # "atomic" (ours), "verify" (probed before the first write) or "unsupported"

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


def print_warning(message: str) -> None:
    """The default ``warn`` hook: one ``::warning`` line; the toolkit escapes newlines and ``%`` in the text."""
    import sys

    from actions_toolkit.command import issue_command

    sys.stdout.flush()
    issue_command("warning", {"title": "registry"}, message)
    sys.stdout.flush()
