"""The model card published with every version (``model-card.md`` beside ``model.skops``), via ``skops.card``.

It says what the model is, which data it was trained and scored on (fingerprints, snapshot hashes), its
metrics with the holdout size, the gates it passed, where it came from, and how to load it safely: check
the sha256, then ``skops.io.load`` with an explicit list of trusted types (never pickle).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

FILE = "model-card.md"


def _fingerprints(manifest: Mapping[str, Any]) -> str:
    data = manifest.get("data") or {}
    lines = []
    for split, label in (("train", "Training data"), ("test", "Holdout")):
        f = (data.get("fingerprints") or {}).get(split) or {}
        if "sha256" in f:
            lines.append(
                f"- {label}: `{f.get('source') or f.get('file')}`, {f.get('rows')} rows × {f.get('columns')} "
                f"columns, file sha256 `{f['sha256']}`"
                + (f", {f['split_rows']} rows after the split" if "split_rows" in f else "")
            )
        elif f:
            lines.append(
                f"- {label}: {f.get('rows')} rows split from the training data "
                f"(test-size {f.get('test_size')}, seed {f.get('seed')})"
            )
        snap = (data.get("snapshots") or {}).get(split)
        if snap:
            lines.append(f"  - snapshot of the rows used: `{snap['key']}` (Parquet, sha256 `{snap['sha256']}`)")
    if not data.get("snapshots"):
        lines.append(
            "- No data snapshot was stored (`snapshot-data` was off): this version cannot be reproduced "
            "from the registry alone."
        )
    return "\n".join(lines)


def _gates(manifest: Mapping[str, Any]) -> str:
    gates = (manifest.get("gates") or {}).get("gates") or []
    if not gates:
        return "No gates were configured."
    rows = ["| | rule | result |", "| :---: | --- | --- |"]
    rows += [f"| {'✅' if g.get('passed') else '❌'} | `{g.get('rule')}` | {g.get('reason')} |" for g in gates]
    return "\n".join(rows)


def _how_to_load(manifest: Mapping[str, Any], trusted: list[str], sha256: str) -> str:
    types = ",\n    ".join(repr(t) for t in trusted)
    return f"""Check the file's sha256 first, then load it with skops' restricted loader, trusting only the types
listed here (reviewed when the version was published). Never load it with pickle or joblib.

```python
import hashlib
import skops.io as sio

EXPECTED_SHA256 = "{sha256}"
with open("model.skops", "rb") as fh:
    assert hashlib.sha256(fh.read()).hexdigest() == EXPECTED_SHA256, "model.skops was altered"
TRUSTED = [
    {types}
]
unknown = set(sio.get_untrusted_types(file="model.skops")) - set(TRUSTED)
assert not unknown, f"unexpected types: {{unknown}}"
model = sio.load("model.skops", trusted=TRUSTED)
```

The manifest (`manifest.json` beside this card) records the same sha256. To rebuild this version and
check it: `mode: reproduce` with `to-version: {manifest.get("version")}`."""


def write_card(model: Any, manifest: Mapping[str, Any], model_path: Path, sha256: str, dest: Path) -> Path:
    """Render the card for ``manifest`` (with ``version``) and the saved ``model_path``; return ``dest``."""
    import skops.io as sio
    from skops.card import Card

    trusted = sorted(sio.get_untrusted_types(file=model_path))
    card = Card(model, template=None, model_diagram=False)
    version, name = manifest.get("version"), manifest.get("model_name")
    git = manifest.get("git") or {}
    classes = manifest.get("classes")
    ref = f" ({git['ref']})" if git.get("ref") else ""
    card.add(
        **{
            f"Model card: {name} {version}": (
                f"`{manifest.get('estimator')}` for **{manifest.get('task')}** of `{manifest.get('target')}`"
                + (f" ({len(classes)} classes: {', '.join(map(str, classes))})" if classes else "")
                + f", published by ml-action on {manifest.get('created_at')}."
            ),
            "Model description": (
                f"- model: `{manifest.get('model')}` with params `{dict(manifest.get('params') or {})}`, "
                f"seed {manifest.get('seed')}\n"
                f"- features ({len(manifest.get('features') or [])}): {', '.join(manifest.get('features') or [])}\n"
                f"- built from commit `{git.get('sha') or 'unknown'}`{ref} of "
                f"{git.get('repository') or 'the repository'}"
                f" by {manifest.get('by')}"
            ),
            "Training data": _fingerprints(manifest),
        }
    )
    metrics = manifest.get("metrics") or {}
    card.add_metrics(
        section="Evaluation results",
        description=f"On {manifest.get('holdout_rows')} holdout rows not used for training; "
        f"primary metric **{manifest.get('primary_metric')}**.",
        **{k: f"{v:.6g}" for k, v in metrics.items()},
    )
    card.add(**{"Gates passed": _gates(manifest), "How to load it safely": _how_to_load(manifest, trusted, sha256)})
    params = manifest.get("estimator_params") or {}
    table = "\n".join(["| parameter | value |", "| --- | --- |", *[f"| {k} | `{v}` |" for k, v in params.items()]])
    card.add(**{"Hyperparameters": f"<details><summary>{len(params)} parameters</summary>\n\n{table}\n</details>"})
    libs = manifest.get("libraries") or {}
    card.add(**{"Environment": ", ".join(f"{k} {v}" for k, v in libs.items())})
    dest.parent.mkdir(parents=True, exist_ok=True)
    card.save(dest)
    return dest
