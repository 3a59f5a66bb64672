"""Pictures in the report: the numbers (checked against scikit-learn and numpy), the escaping of labels from
the data, the Mermaid blocks against a grammar of the ``xychart-beta`` subset we emit, and a 50-class
comment that stays under GitHub's limit."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ml_action.adapters.registry import open_registry
from ml_action.adapters.runner import Runner
from ml_action.context import RunContext
from ml_action.core.metrics import Predictions
from ml_action.modes import MODES
from ml_action.report import escape
from ml_action.report.comment import BODY_LIMIT, github_length
from ml_action.report.pictures import FPR_GRID, QUANTILES, confusion, pictures, roc_curve, section
from tests.helpers import make_config

# ---------------------------------------------------------------------------------------------- the grammar

_STRING = r'"[^"\n]*"'
_NUMBER = r"-?[0-9]+(?:\.[0-9]+)?"
_LINE_RULES = {
    "title": re.compile(rf"^title {_STRING}$"),
    "x-axis": re.compile(rf"^x-axis(?: {_STRING})? \[({_STRING}(?:, {_STRING})*)\]$"),
    "y-axis": re.compile(rf"^y-axis(?: {_STRING})?(?: ({_NUMBER}) --> ({_NUMBER}))?$"),
    "line": re.compile(rf"^(?:line|bar) \[({_NUMBER}(?:, {_NUMBER})*)\]$"),
}


def parse_xychart(block: str) -> dict[str, Any]:
    """Check one Mermaid block against the ``xychart-beta`` subset we emit; return its parts.

    The subset: ``xychart-beta``, then (indented) an optional quoted title, an x-axis of quoted categories,
    a y-axis (a quoted title, a numeric range, or both), and one or more ``line``/``bar`` series of plain
    decimal numbers, each as long as the category list and inside the y range when there is one."""
    lines = block.strip("\n").split("\n")
    assert lines[0] == "xychart-beta", lines[0]
    parts: dict[str, Any] = {"series": []}
    for raw in lines[1:]:
        assert raw.startswith("    ") and raw.strip() == raw[4:], f"bad indentation: {raw!r}"
        text = raw.strip()
        kind = text.split(" ", 1)[0]
        rule = _LINE_RULES["line" if kind in ("line", "bar") else kind]
        match = rule.match(text)
        assert match, f"not in the grammar: {text!r}"
        if kind == "x-axis":
            parts["categories"] = re.findall(_STRING, match.group(1))
        elif kind == "y-axis":
            parts["y"] = (float(match.group(1)), float(match.group(2))) if match.group(1) else (-1e300, 1e300)
        elif kind in ("line", "bar"):
            parts["series"].append([float(v) for v in match.group(1).split(", ")])
    assert parts["series"] and "categories" in parts and "y" in parts
    low, high = parts["y"]
    assert low < high
    for series in parts["series"]:
        assert len(series) == len(parts["categories"])
        assert all(low <= v <= high for v in series)
    return parts


def mermaid_blocks(markdown: str) -> list[str]:
    return re.findall(r"```mermaid\n(.*?)\n```", markdown, flags=re.S)


def test_the_grammar_refuses_what_mermaid_would_choke_on() -> None:
    good = 'xychart-beta\n    title "t"\n    x-axis "x" ["a", "b"]\n    y-axis "y" 0 --> 1\n    line [0.5, 1]'
    parse_xychart(good)
    for bad in (
        good.replace("0.5", "5e-1"),
        good.replace('"t"', '"t"x"'),
        good.replace("[0.5, 1]", "[0.5]"),
        good.replace("0.5", "nan"),
        good.replace("    title", "title"),
        good.replace("1]", "2]"),
        good.replace("0 --> 1", "0 -> 1"),
    ):
        with pytest.raises(AssertionError):
            parse_xychart(bad)


# ---------------------------------------------------------------------------------------------- the numbers


def test_confusion_matches_sklearn_and_caps_the_classes() -> None:
    from sklearn.metrics import confusion_matrix

    rng = np.random.default_rng(0)
    classes = [f"c{i}" for i in range(50)]
    weights = np.linspace(50, 1, 50)
    y = rng.choice(classes, 3000, p=weights / weights.sum())
    pred = np.where(rng.random(3000) < 0.7, y, rng.choice(classes, 3000))
    table = confusion(list(y), list(pred), classes)
    assert table["other"] == 30 and len(table["rows"]) == 21 and table["labels"][-1] == "_other_"
    support = {c: int((y == c).sum()) for c in classes}
    top = [c for c in classes if c in sorted(classes, key=lambda c: -support[c])[:20]]
    assert [r["label"] for r in table["rows"][:20]] == [f"`{c}`" for c in top]  # the 20 largest, in order
    expected = confusion_matrix(y, pred, labels=classes)
    i, j = classes.index(top[3]), classes.index(top[5])
    assert table["rows"][3]["cells"][5].split(" ")[0] == str(expected[i, j])
    assert table["rows"][3]["support"] == support[top[3]]
    assert table["rows"][20]["support"] == 3000 - sum(support[c] for c in top)  # other: the 30 smallest summed
    assert sum(r["support"] for r in table["rows"]) == 3000
    small = confusion(["a", "a", "b"], ["a", "b", "b"], ["a", "b"])
    assert small["rows"][0]["cells"] == ["**1 · 50%**", "1 · 50%"] and small["other"] == 0
    assert len(small["labels"]) == 2  # no empty "other"


def test_roc_matches_sklearn() -> None:
    from sklearn.metrics import roc_auc_score
    from sklearn.metrics import roc_curve as sk_roc

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    score = np.round(y * 0.4 + rng.random(400), 2)  # ties on purpose
    tpr, auc = roc_curve(list(y), list(score), 1)  # type: ignore[misc]
    assert auc == pytest.approx(roc_auc_score(y, score))
    fpr_sk, tpr_sk, _ = sk_roc(y, score)
    for g, t in zip(FPR_GRID, tpr, strict=True):
        assert t == pytest.approx(tpr_sk[fpr_sk <= g + 1e-12].max())
    assert tpr[-1] == 1.0 and roc_curve([1, 1], [0.2, 0.3], 1) is None


def _reference_roc(y_true: list, scores: list, positive: object) -> tuple[list[float], float] | None:
    """The plain-Python ROC the vectorised ``roc_curve`` replaced: the result must be the same to the bit."""
    import math

    pos = str(positive)
    pairs = sorted(
        ((float(s), str(t) == pos) for s, t in zip(scores, y_true, strict=True) if not math.isnan(float(s))),
        key=lambda x: -x[0],
    )
    n_pos = sum(1 for _, p in pairs if p)
    n_neg = len(pairs) - n_pos
    if not n_pos or not n_neg:
        return None
    fpr, tpr = [0.0], [0.0]
    tp = fp = 0
    for i, (score, is_pos) in enumerate(pairs):
        tp += is_pos
        fp += not is_pos
        if i == len(pairs) - 1 or pairs[i + 1][0] != score:
            fpr.append(fp / n_neg)
            tpr.append(tp / n_pos)
    auc = sum((fpr[k] - fpr[k - 1]) * (tpr[k] + tpr[k - 1]) / 2 for k in range(1, len(fpr)))
    return [max(t for f, t in zip(fpr, tpr, strict=True) if f <= g + 1e-12) for g in FPR_GRID], auc


def test_roc_is_the_plain_computation_to_the_bit() -> None:
    rng = np.random.default_rng(3)
    for trial in range(60):
        n = int(rng.integers(2, 2000))
        y = rng.choice(["no", "yes"], n)
        score = np.round(rng.random(n) + (y == "yes") * rng.random(), int(rng.integers(1, 5)))  # ties
        if trial % 3 == 0:
            score[rng.random(n) < 0.1] = np.nan
        assert roc_curve(list(y), list(score), "yes") == _reference_roc(list(y), list(score), "yes")
    with pytest.raises(ValueError):
        roc_curve([1, 0], [0.5], 1)


def test_regression_pictures() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(100, 20, 500)
    cand = Predictions(labels=y + rng.normal(0, 5, 500), proba=None, classes=None)
    champ = Predictions(labels=y * 0.8 + 20, proba=None, classes=None)
    data = pictures("regression", list(y), cand, champ, "v4", None)
    assert [r["name"] for r in data["residuals"]] == ["champion v4", "candidate"]
    assert data["residuals"][1]["quantiles"] == pytest.approx(np.quantile(y - cand.labels, QUANTILES))
    chart = parse_xychart(data["binned"]["chart"])
    assert len(chart["series"]) == 3 and len(chart["categories"]) == 10
    assert chart["series"][0] == sorted(chart["series"][0])  # mean actual rises bin by bin


# ---------------------------------------------------------------------------------------------- escaping


@pytest.mark.parametrize(
    "label", ["a|b", "x`y`", "line\nbreak", "<script>", '"quoted"', "| --- |", "a" * 200, "\u2028sep", "::error::x"]
)
def test_labels_from_the_data_stay_inert(label: str) -> None:
    cell = escape.label(label)
    assert "\n" not in cell and "\u2028" not in cell and len(cell) <= 34
    # inline code: backticks when safe, else <code> with the dangerous characters as entities
    assert (cell.startswith("`") and cell.endswith("`") and cell.count("`") == 2) or (
        cell.startswith("<code>") and cell.endswith("</code>") and cell.count("<") == 2 and "@" not in cell
    )
    assert re.search(r"(?<!\\)\|", cell) is None  # every pipe escaped: the table keeps its columns
    text = escape.mermaid(label, 60)
    assert '"' not in text and "\n" not in text and len(text) <= 60


def test_hostile_class_names_in_the_section() -> None:
    classes = ["ok", 'evil"|`\n```mermaid']
    y = [classes[i % 2] for i in range(40)]
    cand = Predictions(labels=y, proba=np.tile([0.3, 0.7], (40, 1)), classes=classes)
    text = section("classification", y, cand, None, classes)
    assert "```mermaid" in text  # the ROC block of our own
    assert text.count("```") == 2  # … and no fence from the data
    for row in (line for line in text.splitlines() if line.startswith(("| `", "| <code>"))):
        assert len(re.split(r"(?<!\\)\|", row)) == len(re.split(r"(?<!\\)\|", text.splitlines()[4]))
    for block in mermaid_blocks(text):
        parse_xychart(block)


# ---------------------------------------------------------------------------------------------- end to end


def _fifty_classes(path: Path) -> None:
    rng = np.random.default_rng(3)
    rows = ["x1,x2,x3,label"]
    for i in range(2600):
        k = i % 50 if i < 2500 else 0  # class 0 (a hostile name) has the most support: it is shown
        name = f'class {k} | `tick` "q"' if k % 7 == 0 else f"c{k:02d}"
        x = rng.normal(k / 10, 1.0, 3)
        rows.append(f"{x[0]:.4f},{x[1]:.4f},{x[2]:.4f},{name.replace(chr(34), '')}")
    path.write_text("\n".join(rows) + "\n")


@pytest.mark.parametrize("dataset", ["fifty", "breast_cancer", "regression"])
def test_the_comment_stays_under_the_limit_and_its_charts_parse(tmp_path: Path, dataset: str) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    if dataset == "fifty":
        _fifty_classes(ws / "data.csv")
        kw: dict[str, Any] = {"target": "label", "model": "logistic_regression"}
    elif dataset == "breast_cancer":
        from sklearn.datasets import load_breast_cancer

        load_breast_cancer(as_frame=True).frame.to_csv(ws / "data.csv", index=False)
        kw = {"target": "target", "model": "logistic_regression", "task": "classification"}
    else:
        _regression(ws / "data.csv")
        kw = {"target": "y", "model": "sklearn.linear_model.Ridge", "task": "regression"}
    ctx = RunContext(output_path=str(tmp_path / "out"), summary_path=str(tmp_path / "summary"))
    for mode in ("publish", "evaluate"):  # the second run has a champion to draw beside the candidate
        config = make_config(ws, data="data.csv", bootstrap=0, pr_number=1, mode=mode, **kw)
        MODES[mode](config, ctx, Runner(ctx), open_registry(config, {}), tmp_path)
    body = (ws / "ml-action-comment.md").read_text()
    assert github_length(body) < BODY_LIMIT
    blocks = mermaid_blocks(body)
    charts = [parse_xychart(b) for b in blocks]
    if dataset == "fifty":
        assert "Confusion matrix: candidate vs champion" in body and "the 30 classes with least support" in body
        assert "<code>class 0 &#124; 'tick' q</code>" in body
    elif dataset == "breast_cancer":
        assert any(len(c["series"]) == 2 and len(c["categories"]) == 21 for c in charts)  # the ROC, both models
    else:
        assert "Residuals and predicted vs actual" in body and any(len(c["series"]) == 3 for c in charts)
    assert github_length((tmp_path / "summary").read_text()) < 1024 * 1024  # the job summary's limit


def _regression(path: Path) -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(0, 1, (400, 3))
    y = x @ [3.0, -2.0, 0.5] + rng.normal(0, 0.5, 400)
    path.write_text(
        "x1,x2,x3,y\n" + "\n".join(",".join(f"{v:.5f}" for v in (*r, t)) for r, t in zip(x, y, strict=True)) + "\n"
    )
