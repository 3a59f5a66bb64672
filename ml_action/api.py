"""The public Python API: load what ml-action published, from code, safely.

``load_model`` resolves an alias (``champion`` by default) or a version in a registry (a folder or
``s3://bucket/prefix``), downloads the model into a local cache keyed by its sha256, checks the sha256
recorded in the version's manifest, and loads it with skops' restricted loader (the same trusted-type
list as the action). ``fetch_model`` stops before loading and returns the verified file;
``registry_info`` returns what the registry holds as plain data.

Like ``cli``, this module is an entry point: it reads the AWS settings from ``os.environ`` (boto3's
default chain does the rest). Nothing here imports GitHub code, and heavy libraries load only when a
function needs them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml_action.errors import UserError

if TYPE_CHECKING:
    from ml_action.adapters.registry import Registry

__all__ = ["ModelFile", "UnsafeModelWarning", "default_cache_dir", "fetch_model", "load_model", "registry_info"]

PathLike = str | os.PathLike[str]


class UnsafeModelWarning(UserWarning):
    """Emitted before a pickle/joblib model is loaded with ``unsafe=True``: it runs its author's code."""


@dataclass(frozen=True)
class ModelFile:
    """A model file in the local cache whose sha256 matched the version's manifest.

    Attributes
    ----------
    path : pathlib.Path
        The cached file (``<cache_dir>/<sha256>.skops``); do not modify it, copy it.
    version : str
        The version id, e.g. ``"v7"``.
    sha256 : str
        The file's sha256, as recorded in the manifest.
    alias : str or None
        The alias it was resolved from, or None when a version was asked for.
    uri : str
        Where the file lives in the registry.
    manifest : dict
        The version's manifest (metrics, parameters, data fingerprint, git sha...).
    downloaded : bool
        False when the cache already held the file.
    """

    path: Path
    version: str
    sha256: str
    alias: str | None
    uri: str
    manifest: dict[str, Any]
    downloaded: bool


def default_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$ML_ACTION_CACHE_DIR``, else ``$XDG_CACHE_HOME/ml-action``, else ``~/.cache/ml-action``."""
    env = os.environ if env is None else env
    if env.get("ML_ACTION_CACHE_DIR"):
        return Path(env["ML_ACTION_CACHE_DIR"]).expanduser()
    base = Path(env["XDG_CACHE_HOME"]).expanduser() if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "ml-action"


def load_model(
    registry: PathLike,
    name: str = "model",
    *,
    alias: str | None = None,
    version: str | None = None,
    cache_dir: PathLike | None = None,
    unsafe: bool = False,
    endpoint_url: str | None = None,
    region: str | None = None,
) -> Any:
    """Load a published model: resolve the alias or version, download (cached), verify the sha256, load safely.

    Parameters
    ----------
    registry : str or path-like
        ``s3://bucket/prefix`` or a folder, as in the action's ``registry`` input.
    name : str, default="model"
        The model's name in the registry (the action's ``model-name``).
    alias : str, optional
        An alias such as ``"champion"`` (the default when ``version`` is not given) or ``"staging"``.
    version : str, optional
        A version id such as ``"v7"``, or ``"latest"``. Give ``alias`` or ``version``, not both.
    cache_dir : str or path-like, optional
        Where downloaded files are kept, by sha256 (default: ``default_cache_dir()``). A cached file is
        used again only while its sha256 still matches.
    unsafe : bool, default=False
        Allow a pickle/joblib file, which runs arbitrary code when loaded (an ``UnsafeModelWarning`` is
        emitted first). skops files never need it.
    endpoint_url : str, optional
        An S3-compatible endpoint (MinIO, R2...); default ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``.
    region : str, optional
        The bucket's AWS region; default from the environment.

    Returns
    -------
    estimator : object
        The fitted scikit-learn estimator or pipeline.

    Raises
    ------
    ml_action.errors.UserError
        The alias or version does not exist, the file fails its sha256 check, holds a type outside the
        trusted list, is a pickle without ``unsafe=True``, or the registry cannot be read.

    Examples
    --------
    >>> from ml_action import load_model
    >>> model = load_model("s3://my-bucket/models", name="churn")                 # doctest: +SKIP
    >>> model = load_model("s3://my-bucket/models", name="churn", version="v7")   # doctest: +SKIP
    """
    from ml_action.records.artifacts import load_model as load_checked

    found = fetch_model(
        registry, name, alias=alias, version=version, cache_dir=cache_dir, endpoint_url=endpoint_url, region=region
    )
    return load_checked(found.path, found.sha256, found.version, allow_unsafe=unsafe, warn=_warn, url=found.uri)


def fetch_model(
    registry: PathLike,
    name: str = "model",
    *,
    alias: str | None = None,
    version: str | None = None,
    cache_dir: PathLike | None = None,
    endpoint_url: str | None = None,
    region: str | None = None,
) -> ModelFile:
    """Download a published model file into the cache and verify its sha256, without loading it.

    Takes the same parameters as ``load_model`` (except ``unsafe``) and returns a ``ModelFile``.
    """
    return fetch_from(
        open_at(registry, name, endpoint_url, region, os.environ),
        alias,
        version,
        Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir(),
    )


def registry_info(
    registry: PathLike,
    name: str = "model",
    *,
    manifests: bool = True,
    endpoint_url: str | None = None,
    region: str | None = None,
) -> dict[str, Any]:
    """What the registry holds for one model, as plain (JSON-ready) data.

    Parameters
    ----------
    registry, name, endpoint_url, region
        As for ``load_model``.
    manifests : bool, default=True
        Read every version's manifest (one request per version on S3).

    Returns
    -------
    info : dict
        ``uri``; ``versions`` (ids, oldest first); ``aliases`` (name -> version, ``champion`` included);
        ``pointers`` (name -> the full pointer: sha256, when, by whom, previous version); ``manifests``
        (version -> manifest, when asked for) and ``damaged`` (version or alias -> what is wrong with it).
    """
    reg = open_at(registry, name, endpoint_url, region, os.environ)
    damaged: dict[str, str] = {}
    champion, _ = reg.champion()
    pointers = {"champion": champion} if champion else {}

    def on_damage(problem: str) -> None:
        damaged[f"alias {len(damaged) + 1}"] = problem

    pointers.update(reg.aliases(on_damage=on_damage))
    versions = reg.versions()
    info: dict[str, Any] = {
        "uri": reg.uri,
        "name": name,
        "versions": versions,
        "aliases": {k: p["version"] for k, p in pointers.items()},
        "pointers": pointers,
    }
    if manifests:
        info["manifests"] = {}
        for v in versions:
            manifest, problem = reg.try_manifest(v)
            if manifest is None:
                damaged[v] = problem
            else:
                info["manifests"][v] = manifest
    info["damaged"] = damaged
    return info


# ---------------------------------------------------------------------------------------------- internals


def _warn(message: str) -> None:
    warnings.warn(message, UnsafeModelWarning, stacklevel=4)


def open_at(
    registry: PathLike, name: str, endpoint_url: str | None, region: str | None, environ: Mapping[str, str]
) -> Registry:
    from ml_action import inputs
    from ml_action.adapters.registry import LocalStore, Registry, S3Store, is_s3_uri

    model_name = inputs.model_name("name", name)
    where = os.fspath(registry)
    if is_s3_uri(where):
        from ml_action.config import Config

        config = Config(
            workspace=Path.cwd(),
            registry=where,
            model_name=model_name,
            aws_region=region or "",
            s3_endpoint_url=endpoint_url or "",
        )
        env = {k: v for k, v in environ.items() if k.startswith("AWS_")}
        return Registry(S3Store.from_config(config, env), model_name, _warn)
    folder = Path(where).expanduser()
    if not folder.is_dir():
        raise UserError("registry", f"'{where}' is not a folder", "Give the registry's folder or `s3://bucket/prefix`.")
    return Registry(LocalStore(folder), model_name, _warn)


def fetch_from(reg: Registry, alias: str | None, version: str | None, cache_dir: Path) -> ModelFile:
    from ml_action.adapters.registry import model_sha256, pointed_model_sha256
    from ml_action.records.artifacts import MODEL_FILE

    if alias is not None and version is not None:
        raise UserError("version", "both an alias and a version were given", "Give one of them.")
    if version is not None:
        version = reg.resolve_version(version, "version")
        manifest = reg.manifest(version, "version")
        sha = model_sha256(manifest, version)
    else:
        alias = alias or "champion"
        pointer = reg.resolve_alias(alias)
        version = pointer["version"]
        manifest = reg.manifest(version, "version")
        sha = pointed_model_sha256(pointer, manifest, alias)
    path, downloaded = _cached(reg, version, sha, cache_dir)
    return ModelFile(
        path=path,
        version=version,
        sha256=sha,
        alias=alias,
        uri=reg.url_of(version, MODEL_FILE),
        manifest=manifest,
        downloaded=downloaded,
    )


def _cached(reg: Registry, version: str, sha: str, cache_dir: Path) -> tuple[Path, bool]:
    """``<cache_dir>/<sha256>.skops``, downloaded unless already there with that sha256 (True: downloaded)."""
    from ml_action.records.artifacts import sha256_file

    path = cache_dir / f"{sha}.skops"  # sha passed the schema: 64 hex characters
    if path.is_file() and sha256_file(path) == sha:
        return path, False
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=cache_dir, prefix=f".{sha[:12]}-")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        reg.download_model(version, tmp)
        actual = sha256_file(tmp)
        if actual != sha:
            raise UserError(
                "registry",
                f"the model file of version {version} fails its sha256 check (expected "
                f"{sha[:12]}…, got {actual[:12]}…); it was not loaded",
                "The artifact was altered or corrupted: roll back to another version or publish anew.",
            )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path, True


def copy_verified(found: ModelFile, out: Path, allow_unsafe: bool) -> Path:
    """Copy a fetched file to ``out`` (atomically); a pickle/joblib file only with ``allow_unsafe``."""
    with open(found.path, "rb") as fh:
        skops = fh.read(4).startswith(b"PK\x03\x04")
    if not skops and not allow_unsafe:
        raise UserError(
            "allow-unsafe-model-format",
            f"version {found.version} is a pickle/joblib file, which can "
            "run arbitrary code when loaded; it was not written",
            "Pass --allow-unsafe-model-format only if you trust whoever wrote it.",
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    os.close(fd)
    try:
        shutil.copyfile(found.path, tmp)
        os.replace(tmp, out)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return out
