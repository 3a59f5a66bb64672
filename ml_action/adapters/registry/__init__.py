"""Model registries: one layout and one set of semantics over a folder or an S3 prefix.

This package is the registry's one import surface: everything outside it imports from
``ml_action.adapters.registry`` (``__all__`` below), never from its modules, which are private to it:
``base`` (``Registry``: the layout, versions, champion promotion), ``aliases`` (the other named pointers),
``swap`` (the compare-and-swap loop both use), ``manifest`` (typed reads of a manifest), ``schema`` (every
object read back is checked), ``store`` (the object-store protocol), ``local`` and ``s3`` (the two stores),
``s3_client`` (boto3 and S3 URIs). ``open_registry`` picks the store from the ``registry`` setting.

Importing it loads nothing else: each name below loads its module on first use, and boto3 is imported by
the functions that talk to S3, so ``ml-action --help`` and ``--version`` stay instant.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ml_action.lazy import exports

if TYPE_CHECKING:
    from ml_action.adapters.registry.aliases import check_alias_name
    from ml_action.adapters.registry.base import Promotion, Registry
    from ml_action.adapters.registry.local import LocalStore
    from ml_action.adapters.registry.manifest import artifact_sha256, model_sha256, pointed_model_sha256
    from ml_action.adapters.registry.s3 import S3Store
    from ml_action.adapters.registry.s3_client import data_fetcher, is_s3_uri, read_s3_uri
    from ml_action.adapters.registry.schema import SHA256_RE, DamagedObject
    from ml_action.config import Config

__all__ = [
    "SHA256_RE",
    "DamagedObject",
    "LocalStore",
    "Promotion",
    "Registry",
    "S3Store",
    "artifact_sha256",
    "check_alias_name",
    "data_fetcher",
    "is_s3_uri",
    "model_sha256",
    "open_registry",
    "pointed_model_sha256",
    "read_s3_uri",
]

# name -> the module that defines it, imported on first use (like the package root's public API), so that
# ``import ml_action.adapters.registry`` loads nothing but this file and an S3 run never loads the folder store
__getattr__ = exports(
    __name__,
    {
        "SHA256_RE": f"{__name__}.schema",
        "DamagedObject": f"{__name__}.schema",
        "LocalStore": f"{__name__}.local",
        "Promotion": f"{__name__}.base",
        "Registry": f"{__name__}.base",
        "S3Store": f"{__name__}.s3",
        "artifact_sha256": f"{__name__}.manifest",
        "check_alias_name": f"{__name__}.aliases",
        "data_fetcher": f"{__name__}.s3_client",
        "is_s3_uri": f"{__name__}.s3_client",
        "model_sha256": f"{__name__}.manifest",
        "pointed_model_sha256": f"{__name__}.manifest",
        "read_s3_uri": f"{__name__}.s3_client",
    },
)


def open_registry(
    config: Config,
    env: Mapping[str, str],
    warn: Callable[[str], None] | None = None,
    info: Callable[[str], None] | None = None,
) -> Registry:
    """The registry for ``config.registry`` (``s3://bucket/prefix`` or a folder) and ``config.model_name``.

    ``env`` is the run's environment (S3 endpoint and keys); ``warn`` prints a warning the registry has for
    the user (default: a ``::warning`` line); ``info`` prints progress (S3 uploads; default: nothing)."""
    from ml_action.adapters.registry.base import Registry

    if config.is_s3:
        from ml_action.adapters.registry.s3 import S3Store

        return Registry(S3Store.from_config(config, env, info, warn), config.model_name, warn)
    from ml_action.adapters.registry.local import LocalStore
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
