"""Pictures for the report without third-party hosting: plain data computed here, drawn by
``templates/pictures.md.j2`` as Markdown tables and Mermaid ``xychart-beta`` blocks GitHub renders itself.

- classification: a confusion matrix per model (candidate, champion) with counts and row percentages,
  at most ``MAX_CLASSES`` classes by support (the rest summed in *other*), and for a binary target an ROC
  curve of both models on a fixed grid of false-positive rates;
- regression: residual quantiles per model, and predicted vs actual averaged in bins of the actual value.

Pure: no I/O, no environment. Labels come from the data, so they are untrusted: ``escape.label`` makes
them inert code for tables (``escape.label_html`` in a ``<summary>``) and ``escape.mermaid`` quoted-safe text
for charts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ml_action.report import escape

if TYPE_CHECKING:
    from ml_action.core.metrics import Predictions

MAX_CLASSES = 20
FPR_GRID = tuple(i / 20 for i in range(21))
QUANTILES = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)
BINS = 10


def _num(value: float) -> str:
    """A number as Mermaid's grammar takes it: plain decimal notation, never ``1e-05`` or ``nan``."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


# ---------------------------------------------------------------------------------------------- classification


def _text_codes(values: Sequence[Any]) -> tuple[Any, list[str]]:
    """Each value's position in the list of distinct texts (``str`` of the value, as labels are compared
    here), in order of first appearance: ``str`` runs once per distinct value, not once per row."""
    import numpy as np
    import pandas as pd

    plain = values if hasattr(values, "dtype") else np.asarray(values, dtype=object)  # a Series stays as it is
    codes, uniques = pd.factorize(plain, use_na_sentinel=False)
    texts = [str(u) for u in uniques]
    distinct = list(dict.fromkeys(texts))
    position = {t: i for i, t in enumerate(distinct)}
    return np.asarray([position[t] for t in texts], dtype=np.int64)[codes], distinct


def confusion(
    y_true: Sequence[Any], y_pred: Sequence[Any], classes: Sequence[Any], max_classes: int = MAX_CLASSES
) -> dict[str, Any]:
    """Counts of (true, predicted) over the ``max_classes`` classes with most support, the rest as *other*.

    Returns ``labels`` (escaped), ``rows`` (per true class: ``label``, ``cells`` as text, ``support``),
    and ``other`` (how many classes were summed into *other*; predictions outside ``classes`` count there too).
    Counted with ``bincount`` over label codes (at 2,000,000 holdout rows a Python loop took about a second).
    """
    return _confusion(_text_codes(y_true), y_pred, classes, max_classes)


def _confusion(
    coded_truth: tuple[Any, list[str]], y_pred: Sequence[Any], classes: Sequence[Any], max_classes: int
) -> dict[str, Any]:
    """``confusion`` with the true labels already coded (``_text_codes``), so ``pictures`` codes them once."""
    import numpy as np

    truth, truth_texts = coded_truth
    if len(truth) != len(y_pred):
        raise ValueError("y_true and y_pred differ in length")
    support = {str(c): 0 for c in classes}
    for text, count in zip(truth_texts, np.bincount(truth, minlength=len(truth_texts)).tolist(), strict=True):
        support[text] = support.get(text, 0) + count
    ranked = sorted(support, key=lambda c: -support[c])  # stable: ties keep the classes' order
    top = set(ranked[:max_classes])
    shown = [c for c in support if c in top]  # in the classes' own order
    index = {c: i for i, c in enumerate(shown)}
    other = len(ranked) - len(shown)
    size = len(shown) + 1  # the last row/column is "other"
    pred, pred_texts = _text_codes(y_pred)
    row = np.asarray([index.get(t, size - 1) for t in truth_texts], dtype=np.int64)[truth]
    col = np.asarray([index.get(t, size - 1) for t in pred_texts], dtype=np.int64)[pred]
    counts = np.bincount(row * size + col, minlength=size * size).reshape(size, size).tolist()
    labels = [escape.label(c) for c in shown] + ["_other_"]
    keep = size if other or any(counts[size - 1]) or any(r[size - 1] for r in counts) else size - 1
    rows = []
    for i in range(keep):
        total = sum(counts[i])
        cells = []
        for j in range(keep):
            share = f" · {100 * counts[i][j] / total:.0f}%" if total and counts[i][j] else ""
            cell = f"{counts[i][j]}{share}"
            cells.append(f"**{cell}**" if i == j and counts[i][j] else cell)
        rows.append({"label": labels[i], "cells": cells, "support": total})
    return {"labels": labels[:keep], "rows": rows, "other": other}


def roc_curve(
    y_true: Sequence[Any], scores: Sequence[float], positive: Any, grid: Sequence[float] = FPR_GRID
) -> tuple[list[float], float] | None:
    """True-positive rate at each false-positive rate of ``grid`` (the best threshold with FPR at most that),
    and the area under the full curve; None when one class is absent.

    Vectorised (one ``argsort`` and two cumulative sums instead of a Python sort of pairs): at 200,000
    holdout rows the loop took about a second per model. The arithmetic per point is the same, and the
    area is summed with ``sum`` in the same order, so the result is the same to the last bit."""
    return _roc(_text_codes(y_true), scores, positive, grid)


def _roc(
    coded_truth: tuple[Any, list[str]], scores: Sequence[float], positive: Any, grid: Sequence[float]
) -> tuple[list[float], float] | None:
    """``roc_curve`` with the true labels already coded (``_text_codes``), so ``pictures`` codes them once."""
    import numpy as np

    pos = str(positive)
    values = np.asarray(scores, dtype="float64")
    codes, texts = coded_truth
    is_pos = np.asarray([t == pos for t in texts], dtype=bool)[codes]
    if len(values) != len(is_pos):
        raise ValueError("scores and labels differ in length")
    keep = ~np.isnan(values)
    values, is_pos = values[keep], is_pos[keep]
    order = np.argsort(-values)  # not stable: ties are one threshold, their order within it does not matter
    values, is_pos = values[order], is_pos[order]
    n_pos = int(is_pos.sum())
    n_neg = len(is_pos) - n_pos
    if not n_pos or not n_neg:
        return None
    last = np.append(values[1:] != values[:-1], True)  # one point per distinct threshold
    fpr = np.concatenate(([0.0], np.cumsum(~is_pos)[last] / n_neg))
    tpr = np.concatenate(([0.0], np.cumsum(is_pos)[last] / n_pos))
    auc = sum(((fpr[1:] - fpr[:-1]) * (tpr[1:] + tpr[:-1]) / 2).tolist())
    # both rates only grow along the curve: the best TPR with FPR <= g is the one at the last such point
    at = [float(tpr[np.searchsorted(fpr, g + 1e-12, side="right") - 1]) for g in grid]
    return at, auc


def _positive_scores(preds: Predictions, positive: Any) -> Any:
    """The positive class's probability column (a float array), or None."""
    import numpy as np

    if preds.proba is None or not preds.classes:
        return None
    names = [str(c) for c in preds.classes]
    if str(positive) not in names:
        return None
    return np.asarray(preds.proba, dtype="float64")[:, names.index(str(positive))]


# ---------------------------------------------------------------------------------------------- regression


def residual_quantiles(y_true: Sequence[float] | Any, y_pred: Sequence[float] | Any) -> list[float]:
    """Quantiles (``QUANTILES``) of actual − predicted, by linear interpolation."""
    import numpy as np

    residuals = np.sort(np.asarray(y_true, dtype="float64") - np.asarray(y_pred, dtype="float64"))
    if residuals.size == 0:
        raise ValueError("no residuals")
    out = []
    for q in QUANTILES:
        pos = q * (len(residuals) - 1)
        lo, hi = math.floor(pos), math.ceil(pos)
        low, high = float(residuals[lo]), float(residuals[hi])
        out.append(low + (high - low) * (pos - lo))
    return out


def binned_means(
    y_true: Sequence[float] | Any, series: Sequence[Sequence[float] | Any], bins: int = BINS
) -> tuple[list[float], list[list[float]]]:
    """Rows sorted by the actual value (stable: ties keep their order) and cut into ``bins`` groups of (nearly)
    equal size: the mean actual value of each group, and the mean of each series over the same rows."""
    import numpy as np

    y = np.asarray(y_true, dtype="float64")
    order = np.argsort(y, kind="stable")
    n = len(order)
    cuts = [(k * n // bins, (k + 1) * n // bins) for k in range(bins)]
    cuts = [(a, b) for a, b in cuts if b > a]
    columns = [y[order], *(np.asarray(s, dtype="float64")[order] for s in series)]
    means = [[float(c[a:b].mean()) for a, b in cuts] for c in columns]
    return means[0], means[1:]


def xychart(
    title: str,
    x_title: str,
    categories: Sequence[str],
    y_title: str,
    y_range: tuple[float, float],
    lines: Sequence[Sequence[float]],
) -> str:
    """A Mermaid ``xychart-beta`` with categorical x, a numeric y range and one line series per entry."""
    cats = ", ".join(f'"{escape.mermaid(c, 20)}"' for c in categories)
    out = [
        "xychart-beta",
        f'    title "{escape.mermaid(title, 60)}"',
        f'    x-axis "{escape.mermaid(x_title, 60)}" [{cats}]',
        f'    y-axis "{escape.mermaid(y_title, 60)}" {_num(y_range[0])} --> {_num(y_range[1])}',
    ]
    out += ["    line [" + ", ".join(_num(v) for v in values) + "]" for values in lines]
    return "\n".join(out)


def _span(values: Sequence[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    pad = (high - low) * 0.05 or max(abs(high), 1.0) * 0.05
    return low - pad, high + pad


def pictures(
    task: str,
    y_true: Sequence[Any],
    candidate: Predictions,
    champion: Predictions | None,
    champion_version: str | None,
    classes: Sequence[Any] | None,
    positive: Any = None,
) -> dict[str, Any]:
    """Everything ``pictures.md.j2`` draws, as plain data; an empty dict when there is nothing to draw."""
    import numpy as np

    truth = y_true
    if not len(truth):
        return {}
    who = f"champion {champion_version}" if champion_version else "champion"
    models = [("candidate", candidate)] + ([(who, champion)] if champion is not None else [])
    if task == "classification":
        coded = _text_codes(truth)  # once for every table and curve below
        labels = list(classes or sorted(coded[1]))
        out: dict[str, Any] = {
            "task": task,
            "roc": None,
            "models": [
                {"name": name, "confusion": _confusion(coded, p.labels, labels, MAX_CLASSES)} for name, p in models
            ],
        }
        if positive is not None and len(labels) == 2:
            curves: list[dict[str, Any]] = []
            for name, p in reversed(models):  # champion first, as in the comparison table
                scores = _positive_scores(p, positive)
                roc = _roc(coded, scores, positive, FPR_GRID) if scores is not None else None
                if roc is not None:
                    curves.append({"name": name, "auc": roc[1], "tpr": roc[0]})
            if curves:
                out["roc"] = {
                    "curves": curves,
                    "positive": escape.label(positive),
                    "positive_html": escape.label_html(positive),
                    "chart": xychart(
                        f"ROC ({' then '.join(c['name'] for c in curves)})",
                        "false positive rate",
                        [_num(g) for g in FPR_GRID],
                        "true positive rate",
                        (0.0, 1.0),
                        [c["tpr"] for c in curves],
                    ),
                }
        return out
    y = np.asarray(truth, dtype="float64")
    residuals = [{"name": name, "quantiles": residual_quantiles(y, p.labels)} for name, p in reversed(models)]
    preds = [np.asarray(p.labels, dtype="float64") for _, p in reversed(models)]
    actual, means = binned_means(y, preds)
    finite = [v for v in [*actual, *(m for s in means for m in s)] if math.isfinite(v)]
    out = {"task": task, "quantiles": [f"{100 * q:g}%" for q in QUANTILES], "residuals": residuals, "binned": None}
    if len(actual) >= 2 and len(finite) == len(actual) * (1 + len(means)):
        names = [name for name, _ in reversed(models)]
        out["binned"] = {
            "names": names,
            "bins": len(actual),
            "chart": xychart(
                f"mean predicted vs actual ({' then '.join(['actual', *names])})",
                "mean actual value per bin",
                [_num(a) for a in actual],
                "value",
                _span(finite),
                [actual, *means],
            ),
        }
    return out


def section(
    task: str, y_true: Sequence[Any], candidate: Predictions, champion: Any | None, classes: Sequence[Any] | None
) -> str:
    """The rendered detail section (empty when there is nothing to draw). ``champion`` is the evaluation's
    ``ChampionScore`` (its predictions are drawn only when it was comparable); a binary target's positive
    class is ``classes[1]``, as in the metrics."""
    from ml_action.report.markdown import render

    comparable = champion is not None and champion.comparable and champion.preds is not None
    positive = classes[1] if classes is not None and len(classes) == 2 else None
    preds = champion.preds if champion is not None and comparable else None
    version = champion.version if champion is not None and comparable else None
    data = pictures(task, y_true, candidate, preds, version, classes, positive)
    return render("pictures.md.j2", **data) if data else ""
