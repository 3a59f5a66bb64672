"""Issue 15 through the action: a search picks parameters on the training part and the choice takes the normal
path (report, comment, manifest, ``reproduce`` without searching, ``diff``); every mistake in ``search``,
``search-method`` or ``dask-scheduler`` is one ``::error``, exit 1, no traceback, the champion untouched."""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import copy_example, run_action, run_inprocess

FAST = {"bootstrap": "0", "comment-mode": "off"}
SPACE = "{max_depth: [2, 3, null], min_samples_leaf: {int: [1, 8]}, max_features: {low: 0.3, high: 1.0}}"


@pytest.fixture(scope="module")
def champion_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """iris with a published champion ``v1`` (no search), copied by each test that must leave it untouched."""
    ws = copy_example("iris", tmp_path_factory.mktemp("champion") / "ws")
    result = run_action(ws, {"mode": "publish", **FAST, "params": "{n_estimators: 10}"})
    assert result.code == 0, result.stdout + result.stderr
    return ws


@pytest.fixture
def ws(champion_ws: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(champion_ws, tmp_path / "ws"))


def _registry_state(ws: Path) -> tuple[str, list[str]]:
    model = ws / ".ml-action/registry/model"
    return (model / "champion.json").read_text(), sorted(p.name for p in (model / "versions").iterdir())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


BAD: list[tuple[str, dict[str, str], str, str]] = [
    # (id, inputs, input named, words in the message)
    ("unknown parameter", {"search": "{max_deepth: [2, 4]}"}, "search", "unknown parameter(s) max_deepth"),
    (
        "no such parameter for this estimator",
        {"model": "logistic_regression", "params": "{}", "search": "{max_depth: [2, 4]}"},
        "search",
        "max_depth for LogisticRegression",
    ),
    ("empty list", {"search": "{max_depth: []}"}, "search", "'max_depth' has an empty list"),
    ("low above high", {"search": "{max_features: {low: 0.9, high: 0.2}}"}, "search", "low 0.9 is above high 0.2"),
    (
        "unknown method",
        {"search": "{max_depth: [2, 4]}", "search-method": "bayes"},
        "search-method",
        "'bayes' is not one of grid, random, halving",
    ),
    (
        "in params and search",
        {"search": "{n_estimators: [5, 10]}"},
        "search",
        "n_estimators is in both `params` and `search`",
    ),
    (
        "grid over a range",
        {"search": "{max_depth: {int: [2, 5]}}", "search-method": "grid"},
        "search-method",
        "needs a list of values",
    ),
    ("not a mapping", {"search": "[2, 4]"}, "search", "not a mapping"),
    ("value the estimator refuses", {"search": "{max_depth: [-3, -4]}"}, "search", "the search failed"),
    ("one fold", {"search": "{max_depth: [2, 4]}", "cv": "1"}, "cv", "not cross-validation"),
]


@pytest.mark.parametrize(("inputs", "input_name", "words"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_a_bad_search_is_one_error_and_the_champion_is_untouched(
    ws: Path, capsys: pytest.CaptureFixture[str], inputs: dict[str, str], input_name: str, words: str
) -> None:
    before = _registry_state(ws)
    result = run_inprocess(ws, {"mode": "publish", **FAST, "params": "{n_estimators: 10}", **inputs}, capsys)
    assert result.code == 1, result.stdout
    assert len(result.errors) == 1, result.stdout
    assert result.errors[0].startswith(f"::error title={input_name}::"), result.errors[0]
    assert words in result.errors[0], result.errors[0]
    assert "Traceback" not in result.stdout + result.stderr
    assert _registry_state(ws) == before


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("tcp://127.0.0.1:{port}", "cannot connect to the Dask scheduler at 'tcp://127.0.0.1:{port}'"),
        ("tls://127.0.0.1:{port}", "TLS"),
        ("udp://127.0.0.1:{port}", "unknown address scheme"),
    ],
)
def test_an_unreachable_scheduler_fails_before_any_training(ws: Path, address: str, words: str) -> None:
    port = _free_port()
    before = _registry_state(ws)
    address, words = address.format(port=port), words.format(port=port)
    result = run_action(
        ws,
        {"mode": "publish", **FAST, "search": "{max_depth: [2, 4]}"},
        {"DASK_SCHEDULER_ADDRESS": address, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"},
    )
    assert result.code == 1, result.stdout + result.stderr
    assert len(result.errors) == 1 and result.errors[0].startswith("::error title=dask-scheduler::"), result.stdout
    assert words in result.errors[0], result.errors[0]
    assert "Traceback" not in result.stdout + result.stderr
    assert "Search" not in result.stdout and "Train candidate" not in result.stdout  # nothing trained
    assert _registry_state(ws) == before


@pytest.fixture
def empty_scheduler() -> Iterator[str]:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=0, host="127.0.0.1", protocol="tcp://", dashboard_address=":0", processes=False
    ) as cluster:
        yield cluster.scheduler_address


def test_a_scheduler_without_workers_is_an_error(ws: Path, empty_scheduler: str) -> None:
    before = _registry_state(ws)
    # a subprocess: Dask reads its DASK_* variables from the process environment when it is imported
    result = run_action(
        ws,
        {"mode": "publish", **FAST, "dask-scheduler": empty_scheduler},
        {"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"},
    )
    assert result.code == 1 and len(result.errors) == 1, result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert result.errors[0].startswith("::error title=dask-scheduler::") and "no workers" in result.errors[0]
    assert _registry_state(ws) == before


def test_a_search_reports_publishes_its_choice_and_reproduces_without_searching(ws: Path) -> None:
    inputs = {
        "mode": "publish",
        **FAST,
        "params": "{n_estimators: 10}",
        "search": SPACE,
        "search-iter": "12",
        "cv": "3",
        "snapshot-data": "true",
        "comment-mode": "update",
        "pr-number": "7",
        "gates": "- metric: f1_macro\n  min: 0.5",
    }  # whether it beats v1 on 30 rows is not the point
    result = run_action(ws, inputs)
    assert result.code == 0, result.stdout + result.stderr
    assert "random search: 12 candidates × 3 folds" in result.stdout
    assert "36 fits" in result.stdout and "the runner's" in result.stdout

    manifest = json.loads((ws / ".ml-action/registry/model/versions/v2/manifest.json").read_text())
    searched = manifest["search"]
    assert searched["method"] == "random" and searched["seed"] == 42 and searched["folds"] == 3
    assert searched["candidates"] == 12 and searched["fits"] == 36 and searched["scoring"] == "f1_macro"
    assert searched["space"]["min_samples_leaf"] == {"int": [1, 8]}
    chosen = searched["chosen"]
    assert set(chosen) == {"max_depth", "min_samples_leaf", "max_features"}
    assert manifest["params"] == {"n_estimators": 10, **chosen}  # what reproduce rebuilds: no search there
    assert manifest["estimator_params"]["model__min_samples_leaf"] == repr(chosen["min_samples_leaf"])

    # the comment (saved: no token) has the top 10; the job summary all 12 trials
    comment = (ws / "ml-action-comment.md").read_text()
    assert "### Search" in comment and "Top 10 of 12 trials" in comment and "2 more in the job summary" in comment
    assert "**12 candidates × 3 folds = 36 fits**" in comment
    assert "All 12 trials" in result.summary and "Top 10" not in result.summary
    rows = [
        line
        for line in result.summary.splitlines()
        if line.startswith("| ") and "` |" in line and line.split("|")[1].strip().isdigit()
    ]
    assert len(rows) == 12

    # reproduce rebuilds v2 from its manifest: the chosen params as fixed ones, no search
    again = run_action(ws, {"mode": "reproduce", "to-version": "v2", "search": SPACE})
    assert again.code == 0, again.stdout + again.stderr
    assert again.outputs["reproduced"] == "true"
    assert "Search" not in again.stdout

    # diff v1 → v2 shows the chosen values and the search
    diff = run_action(ws, {"mode": "diff", "from-version": "v1", "to-version": "v2"})
    assert diff.code == 0, diff.stdout
    report = (ws / "ml-action-report.md").read_text()
    assert "model__min_samples_leaf" in report and "search method" in report and "random" in report


@pytest.mark.parametrize(
    ("method", "space", "words"),
    [
        ("grid", "{max_depth: [2, 3], min_samples_leaf: [1, 5, 10]}", "grid search: 6 candidates × 5 folds"),
        (
            "halving",
            "{max_depth: {int: [1, 6]}, max_features: {low: 0.3, high: 1.0}}",
            "halving search: 9 candidates, halved by 3 each round × 3 folds",
        ),
    ],
)
def test_grid_and_halving(ws: Path, capsys: pytest.CaptureFixture[str], method: str, space: str, words: str) -> None:
    inputs = {
        "mode": "evaluate",
        **FAST,
        "params": "{n_estimators: 5}",
        "search": space,
        "search-method": method,
        "search-iter": "9",
        "cv": "3" if method == "halving" else "0",
        "gates": "- metric: f1_macro\n  min: 0",
    }
    result = run_inprocess(ws, inputs, capsys)
    assert result.code == 0, result.stdout
    assert words in result.stdout, result.stdout
    assert "### Search" in result.summary
    if method == "halving":  # every round's candidates, the last round first, with the rows each was fitted on
        assert "(last round first)" in result.summary and "| round | rows |" in result.summary
    else:
        assert "**6 candidates × 5 folds = 30 fits**" in result.summary and "All 6 trials" in result.summary
