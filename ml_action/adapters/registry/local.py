"""A registry in a local folder: create-only writes with ``os.link``, compare-and-swap under a lock.

Every write goes to a temporary file in the same folder first, so a reader or a crash never sees a
half-written object. Tokens are the sha256 of the object's bytes.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from ml_action.adapters.registry.store import AlreadyExists, Conflict


class LocalStore:
    """``ObjectStore`` over a folder; keys are relative paths with ``/``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.uri = str(root)
        self.conditional_writes = "atomic"  # os.link and the lock: guaranteed by this class, nothing to probe

    def _path(self, key: str) -> Path:
        """The file for ``key``; keys are built from checked ids and fixed names, and must stay under root."""
        if ".." in Path(key).parts or key.startswith("/") or "\0" in key:
            raise ValueError(f"bad key {key!r}")
        return self.root / key

    def url(self, key: str) -> str:
        return str(self._path(key))

    def read(self, key: str) -> tuple[bytes, str] | None:
        try:
            data = self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        return data, hashlib.sha256(data).hexdigest()

    def _staged(self, path: Path, data: bytes | None = None, source: Path | None = None) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            if source is not None:
                with open(source, "rb") as src:
                    shutil.copyfileobj(src, fh, 1 << 20)
            else:
                fh.write(data or b"")
            fh.flush()
            os.fsync(fh.fileno())
        return Path(tmp)

    def _link(self, tmp: Path, path: Path) -> None:
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise AlreadyExists(str(path)) from None
        finally:
            tmp.unlink()

    def create(self, key: str, data: bytes) -> None:
        path = self._path(key)
        if path.exists():
            raise AlreadyExists(key)
        self._link(self._staged(path, data=data), path)

    def create_file(self, key: str, path: Path, sha256: str) -> None:
        dest = self._path(key)
        if dest.exists():
            raise AlreadyExists(key)
        self._link(self._staged(dest, source=path), dest)

    def replace(self, key: str, data: bytes, token: str | None) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.parent / ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            current = self.read(key)
            if (current[1] if current else None) != token:
                raise Conflict(key)
            tmp = self._staged(path, data=data)
            os.replace(tmp, path)

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix.rstrip("/")) if prefix.rstrip("/") else self.root
        if not base.is_dir():
            return []
        out = []
        for dirpath, _, files in os.walk(base):
            for name in files:
                if not name.startswith(".tmp-") and name != ".lock":
                    out.append(Path(dirpath, name).relative_to(self.root).as_posix())
        return sorted(k for k in out if k.startswith(prefix))

    def download(self, key: str, dest: Path) -> bool:
        path = self._path(key)
        if not path.is_file():
            return False
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
        return True
