"""Model files: save with skops, hash, and load safely (sha256 first, then skops' restricted loader).

The list of types we trust is fixed here, never read from the artifact: scikit-learn's own classes and
a small set of numpy/scipy containers. Pickle and joblib files run code when loaded and are refused
unless the user opts in with ``allow-unsafe-model-format``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ml_action.errors import UserError

MODEL_FILE = "model.skops"

_TRUSTED_PREFIXES = ("sklearn.",)
_TRUSTED_NAMES = frozenset({
    "numpy.dtype", "numpy.ndarray", "numpy.float64", "numpy.float32", "numpy.int64", "numpy.int32",
    "numpy.bool_", "numpy.str_", "numpy.random.mtrand.RandomState", "numpy.random._mt19937.MT19937",
    "scipy.sparse._csr.csr_matrix", "scipy.sparse._csc.csc_matrix", "builtins.slice",
    "collections.OrderedDict", "collections.defaultdict",
})
_UNTRUSTED_SKLEARN = ("sklearn.utils._testing",)


def is_trusted_type(name: str) -> bool:
    """Whether ``name`` (``module.Qualname``) is on our fixed list of types safe to construct."""
    if name.startswith(_UNTRUSTED_SKLEARN):
        return False
    return name in _TRUSTED_NAMES or name.startswith(_TRUSTED_PREFIXES)


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


def load_model(path: Path, expected_sha256: str, version: str, allow_unsafe: bool = False) -> Any:
    """Load a model file only after its sha256 matches ``expected_sha256``.

    Raises ``UserError`` naming ``version`` when the hash differs, when the file is a pickle/joblib
    and ``allow_unsafe`` is false, or when it holds a type outside our trusted list.
    """
    actual = sha256_file(path)
    if actual != expected_sha256:
        raise UserError("registry", f"the model file of version {version} fails its sha256 check "
                        f"(expected {expected_sha256[:12]}…, got {actual[:12]}…); it was not loaded",
                        "The artifact was altered or corrupted: roll back to another version or publish anew.")
    if _format(path) != "skops":
        if not allow_unsafe:
            raise UserError("allow-unsafe-model-format",
                            f"version {version} is a pickle/joblib file, which can run arbitrary code when "
                            "loaded; it was refused", "Publish it again with ml-action (skops format), or set "
                            "`allow-unsafe-model-format: true` only if you trust whoever wrote it.")
        import joblib

        return joblib.load(path)
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # a corrupt zip or schema
        raise UserError("registry", f"the model file of version {version} is not a readable skops file ({exc})",
                        "Publish the model again.") from None
    refused = sorted(t for t in untrusted if not is_trusted_type(t))
    if refused:
        raise UserError("registry", f"version {version} contains types outside ml-action's trusted list: "
                        f"{', '.join(refused)}", "Use scikit-learn components only, or load it yourself "
                        "with skops after reviewing these types.")
    return sio.load(path, trusted=list(untrusted))


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
    return {"rows": len(labels), "sha256": prediction_digest(preds), "sample_rows": len(sample),
            "decimals": DECIMALS, "labels": sample, "proba": proba, "classes": classes}
