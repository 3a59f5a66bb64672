"""Model registries: one layout and one set of semantics over a folder or an S3 prefix.

``open_registry`` picks the object store from the ``registry`` setting; ``Registry`` (in ``base``)
holds all the layout and promotion logic, so both stores behave the same; ``schema`` checks every
object read back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ml_action.config import Config
    from ml_action.registry.base import Registry


def open_registry(
    config: Config,
    env: Mapping[str, str],
    warn: Callable[[str], None] | None = None,
    info: Callable[[str], None] | None = None,
) -> Registry:
    """The registry for ``config.registry`` (``s3://bucket/prefix`` or a folder) and ``config.model_name``.

    ``env`` is the run's environment (S3 endpoint and keys); ``warn`` prints a warning the registry has for
    the user (default: a ``::warning`` line); ``info`` prints progress (S3 uploads; default: nothing)."""
    from ml_action.registry.base import Registry

    if config.is_s3:
        from ml_action.registry.s3 import S3Store

        return Registry(S3Store.from_config(config, env, info, warn), config.model_name, warn)
    from ml_action.registry.local import LocalStore
    from ml_action.workspace import confine

    root = config.registry
    path = confine(config.workspace, root, "registry") if not root.startswith("/") else None
    folder = path or Path(root)
    if folder.exists() and not folder.is_dir():
        from ml_action.errors import UserError

        raise UserError(
            "registry",
            f"'{root}' is a file, not a folder",
            "Point `registry` at a folder (it is created if missing) or at `s3://bucket/prefix`.",
        )
    return Registry(LocalStore(folder), config.model_name, warn)
