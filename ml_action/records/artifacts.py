"""Model files: save with skops, hash, and load safely (sha256 first, then skops' restricted loader).

The list of types we trust is fixed here, never read from the artifact: the estimator and transformer
classes scikit-learn exports (``sklearn.utils.all_estimators()`` and the classes its public modules
export), the few internal classes fitted estimators hold (trees, optimizers, distance metrics), and a
small set of numpy/scipy containers. Any other name under ``sklearn.`` is refused: skops reports
functions a module merely imports (``sklearn.datasets._base.makedirs`` is ``os.makedirs``) under that
module's name. Pickle and joblib files run code when loaded and are refused unless the user opts in with
``allow-unsafe-model-format``, and then loudly.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ml_action.errors import DamagedObject, UserError, first_line

MODEL_FILE = "model.skops"
MAX_MEMBERS = 1_000_000  # arrays in one skops file (a 500-tree forest has about 1,500)
MAX_EXPANSION = 20  # ml-action writes skops files uncompressed: their members add up to the file's size
EXPANSION_SLACK = 64 * 1024 * 1024
SCHEMA_DEPTH = 200  # nesting of a skops schema.json (a pipeline of a column transformer of pipelines: 30)

_TRUSTED_NAMES = frozenset(
    {
        "numpy.dtype",
        "numpy.ndarray",
        "numpy.float64",
        "numpy.float32",
        "numpy.int64",
        "numpy.int32",
        "numpy.bool_",
        "numpy.str_",
        "numpy.random.mtrand.RandomState",
        "numpy.random._mt19937.MT19937",
        "scipy.sparse._csr.csr_matrix",
        "scipy.sparse._csc.csc_matrix",
        "builtins.slice",
        "collections.OrderedDict",
        "collections.defaultdict",
        # internal state of fitted estimators, not exported by scikit-learn but held by the classes it exports
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
        "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    }
)


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


@functools.lru_cache(maxsize=1)
def _sklearn_classes() -> frozenset[str]:
    """Every estimator class (``all_estimators``), every class a public ``sklearn.*`` module exports, and
    the distance metrics fitted neighbours models hold. Imports much of scikit-learn: computed once, lazily."""
    import importlib
    import inspect

    import sklearn
    from sklearn.metrics import DistanceMetric
    from sklearn.utils import all_estimators

    names = {_qualified(cls) for _, cls in all_estimators()}
    for module_name in sklearn.__all__:
        try:
            module = importlib.import_module(f"sklearn.{module_name}")
        except ImportError:
            continue
        for attr in getattr(module, "__all__", ()):
            try:
                value = getattr(module, attr, None)
            except ImportError:  # experimental names that need an explicit enable_* import
                continue
            if inspect.isclass(value) and value.__module__.startswith("sklearn."):
                names.add(_qualified(value))
    pending = [DistanceMetric]
    while pending:
        cls = pending.pop()
        names.add(_qualified(cls))
        pending.extend(cls.__subclasses__())
    return frozenset(names)


def is_trusted_type(name: str) -> bool:
    """Whether ``name`` (``module.Qualname``) is on our fixed list of types safe to construct."""
    if name in _TRUSTED_NAMES:
        return True
    return name.startswith("sklearn.") and name in _sklearn_classes()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_model(estimator: Any, path: Path) -> str:
    """Write ``estimator`` with skops to ``path``; return the file's sha256."""
    import skops.io as sio

    path.parent.mkdir(parents=True, exist_ok=True)
    sio.dump(estimator, path)
    return sha256_file(path)


def _format(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head.startswith(b"PK\x03\x04"):
        return "skops"
    return "pickle"


def load_model(
    path: Path,
    expected_sha256: str,
    version: str,
    allow_unsafe: bool = False,
    warn: Callable[[str], None] | None = None,
    url: str = "",
) -> Any:
    """Load a model file only after its sha256 matches ``expected_sha256``.

    Raises ``UserError`` naming ``version`` when the hash differs, when the file is a pickle/joblib
    and ``allow_unsafe`` is false, when it holds a type outside our trusted list, or when the object
    loaded is not an estimator. ``warn`` receives the warning printed before a pickle is loaded.
    """
    actual = sha256_file(path)
    if actual != expected_sha256:
        raise UserError(
            "registry",
            f"the model file of version {version} fails its sha256 check "
            f"(expected {expected_sha256[:12]}…, got {actual[:12]}…); it was not loaded",
            "The artifact was altered or corrupted: roll back to another version or publish anew.",
        )
    if _format(path) != "skops":
        if not allow_unsafe:
            raise UserError(
                "allow-unsafe-model-format",
                f"version {version} is a pickle/joblib file, which can run arbitrary code when loaded; it was refused",
                "Publish it again with ml-action (skops format), or set "
                "`allow-unsafe-model-format: true` only if you trust whoever wrote it.",
            )
        import joblib

        where = json.dumps(url or path.name, ensure_ascii=True)  # registry text, quoted on one line
        (warn or _print_warning)(
            f"loading {where} (version {version}, sha256 {actual}) as a pickle/joblib "
            "file because `allow-unsafe-model-format` is true: it runs any code its "
            "author put in it"
        )
        return _checked(_estimator(joblib.load(path), version), version)
    import skops.io as sio

    check_archive(path, f"the model file of version {version}")
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # a corrupt zip or schema
        raise UserError(
            "registry",
            f"the model file of version {version} is not a readable skops file ({first_line(exc, 200)})",
            "Publish the model again.",
        ) from None
    refused = sorted(t for t in untrusted if not is_trusted_type(t))
    if refused:
        raise UserError(
            "registry",
            f"version {version} contains types outside ml-action's trusted list: "
            f"{', '.join(json.dumps(t[:100], ensure_ascii=True) for t in refused[:10])}",
            "Use scikit-learn components only, or load it yourself with skops after reviewing these types.",
        )
    try:
        model = sio.load(path, trusted=list(untrusted))
    except Exception as exc:  # trusted types with inconsistent state (scikit-learn's own checks refuse it)
        raise DamagedObject(
            f"the model file of version {version}", f"skops cannot rebuild it ({type(exc).__name__})"
        ) from None
    return _checked(_estimator(model, version), version)


def _checked(model: Any, version: str) -> Any:
    """``model`` once every tree in it fits its own sizes (``tree_check``): nothing predicts before this."""
    from ml_action.records.tree_check import UnsafeModel, check_model

    try:
        check_model(model)
    except UnsafeModel as exc:
        raise DamagedObject(f"the model file of version {version}", str(exc)[:500]) from None
    return model


def check_archive(path: Path, where: str) -> None:
    """A skops file is a zip: at most ``MAX_MEMBERS`` members, whose declared sizes (zipfile never inflates
    past them) add up to at most ``MAX_EXPANSION`` times the file plus ``EXPANSION_SLACK``; its
    ``schema.json`` parses within ``safejson``'s size and depth bounds."""
    import zipfile

    from ml_action.records.safejson import BadJSON, loads

    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > MAX_MEMBERS:
                raise DamagedObject(where, f"it has more than {MAX_MEMBERS:,} members")
            total = sum(m.file_size for m in members)
            bound = MAX_EXPANSION * path.stat().st_size + EXPANSION_SLACK
            if total > bound:
                raise DamagedObject(where, f"its members inflate to {total:,} bytes, more than {bound:,}")
            schema = archive.read("schema.json")
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise DamagedObject(where, f"it is not a readable skops file ({type(exc).__name__})") from None
    try:
        loads(schema, limit=len(schema), depth=SCHEMA_DEPTH)
    except BadJSON as exc:
        raise DamagedObject(where, f"its schema.json {exc}") from None


def _estimator(model: Any, version: str) -> Any:
    if not callable(getattr(model, "predict", None)):
        kind = json.dumps(type(model).__qualname__[:80], ensure_ascii=True)
        raise UserError(
            "registry",
            f"the model file of version {version} holds a {kind} object, not an estimator (it has no `predict`)",
            "Publish a fitted scikit-learn estimator or pipeline.",
        )
    return model


def _print_warning(message: str) -> None:
    import sys

    from actions_toolkit.command import issue_command

    sys.stdout.flush()
    issue_command("warning", {"title": "allow-unsafe-model-format"}, message[:4000])
    sys.stdout.flush()


# ---------------------------------------------------------------------------------------------- predictions
# ``publish`` records the holdout predictions in the manifest (``predictions``): the sha256 of the full arrays
# (labels as JSON, probabilities as little-endian float64) and the first ``SAMPLE_ROWS`` rows rounded to
# ``DECIMALS`` decimals, so a run whose hash differs (``reproduce``) can still be compared value by value.

SAMPLE_ROWS = 1000
DECIMALS = 12


def prediction_labels(preds: Any) -> list[Any]:
    import numpy as np

    return list(np.asarray(preds.labels).tolist())


def prediction_digest(preds: Any) -> str:
    """sha256 over the labels (JSON) and, when present, the probabilities (little-endian float64)."""
    import json

    import numpy as np

    digest = hashlib.sha256(json.dumps(prediction_labels(preds), default=str).encode())
    if preds.proba is not None:
        digest.update(np.ascontiguousarray(preds.proba, dtype="<f8").tobytes())
    return digest.hexdigest()


def prediction_record(preds: Any) -> dict[str, Any]:
    """What the manifest keeps of the holdout predictions: their hash and a rounded sample."""
    import numpy as np

    labels = prediction_labels(preds)
    sample = [round(x, DECIMALS) if isinstance(x, float) else x for x in labels[:SAMPLE_ROWS]]
    proba = None if preds.proba is None else np.round(np.asarray(preds.proba)[:SAMPLE_ROWS], DECIMALS).tolist()
    classes = None if preds.classes is None else np.asarray(preds.classes).tolist()
    return {
        "rows": len(labels),
        "sha256": prediction_digest(preds),
        "sample_rows": len(sample),
        "decimals": DECIMALS,
        "labels": sample,
        "proba": proba,
        "classes": classes,
    }
