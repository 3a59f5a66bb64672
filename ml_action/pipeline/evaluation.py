"""One evaluation: train the candidate, re-score the champion on the same holdout rows, run the data checks
and decide (``decision.decide``). Returns a typed ``Evaluation``; the report context, the manifest, the
result bundle and the outputs are each built from it by one function elsewhere (``evaluation_report``,
``version_fields``). Used by the ``evaluate`` and ``publish`` modes; it publishes nothing and posts nothing."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml_action.adapters.runner import Runner
from ml_action.config import Config, require
from ml_action.core.decision import Decision, Holdout, Rules, decide
from ml_action.core.metrics import Predictions
from ml_action.errors import UserError
from ml_action.pipeline import checks

if TYPE_CHECKING:
    from ml_action.adapters.cluster import Place
    from ml_action.adapters.registry import Registry
    from ml_action.core.champion import ChampionScore
    from ml_action.core.compare import Verdict
    from ml_action.pipeline.data import Dataset, Fetch
    from ml_action.pipeline.search import SearchResult


@dataclass(frozen=True)
class Candidate:
    """The model this run trained, and what it did on the holdout."""

    model: Any
    estimator: str  # ``model.describe``: the pipeline's steps
    params: dict[str, Any]  # the fixed parameters and a search's choice: what ``reproduce`` rebuilds
    preds: Predictions
    metrics: dict[str, float]
    metric_notes: dict[str, str]  # why a metric is missing or special (``metrics.score``)
    fit_seconds: float
    cv: dict[str, Any] | None = None
    search: SearchResult | None = None

    @property
    def estimator_params(self) -> dict[str, str]:
        """Every parameter of the fitted estimator as the report's table shows it (``repr``), the given ones last."""
        return {**params_table(self.model), **{k: repr(v) for k, v in self.params.items()}}


@dataclass(frozen=True)
class Evaluation:
    """Everything one evaluation learned: the data, the candidate, the champion re-scored on the same rows,
    the data checks and the decision, with where it ran and how long each stage took."""

    config: Config
    dataset: Dataset
    rules: Rules
    candidate: Candidate
    champion: ChampionScore | None
    checks: checks.Checks
    decision: Decision
    compute: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def primary(self) -> str:
        return self.rules.primary

    @property
    def verdict(self) -> Verdict:
        return self.decision.verdict

    @property
    def passed(self) -> bool:
        """Whether the job passes and ``publish`` may promote (``on-inconclusive`` settles the middle)."""
        return self.decision.ok(self.rules.on_inconclusive)

    @property
    def holdout(self) -> Holdout:
        ds = self.dataset
        return Holdout(ds.test, ds.target, ds.task, ds.classes)


def train_and_compare(config: Config, runner: Runner, registry: Registry, workdir: Path, fetch: Fetch) -> Evaluation:
    """Train the candidate, re-score the champion on the same rows, check the data and decide; ``fetch``
    downloads ``s3://`` data (``data.Fetch``). Every joblib-parallel part runs where ``dask-scheduler`` says
    (``ml_action.adapters.cluster``), connected before any work."""
    from ml_action.adapters.cluster import connect
    from ml_action.adapters.posting import check_targets

    require(config, "data", "target")
    check_targets(config)  # a bad report-path or comment-file fails before any work
    with connect(config.dask_scheduler, runner) as place:
        return _train_and_compare(config, runner, registry, workdir, fetch, place)


def _train_and_compare(
    config: Config, runner: Runner, registry: Registry, workdir: Path, fetch: Fetch, place: Place
) -> Evaluation:
    timings: dict[str, float] = {}
    with _stage(runner, "Load data", timings):
        dataset, rules, names = _load(config, runner, fetch)
    with _stage(runner, "Build model", timings):
        from ml_action.pipeline.model import describe, make_candidate

        model, params, prefix = make_candidate(config, dataset.task, dataset.X_train, runner.info)
        runner.info(f"estimator: {describe(model)}")
    searched = None
    if config.search:
        with _stage(runner, f"Search ({config.search_method})", timings):
            searched, params = _search(config, runner, dataset, model, params, prefix, rules.primary, place)
    cv = None
    if config.cv:
        with _stage(runner, f"Cross-validate ({config.cv} folds)", timings):
            cv = cross_validate(model, dataset, config.cv, config.seed, names, runner)
    with _stage(runner, "Train candidate", timings):
        candidate = _train(runner, dataset, model, params, names, rules.primary, cv, searched)
    with _stage(runner, "Score the champion", timings):
        champion = _champion(config, runner, registry, dataset, names, rules.primary, workdir)
    with _stage(runner, "Data checks and confidence", timings):
        found = checks.run_checks(config, dataset, champion, runner)
        holdout = Holdout(dataset.test, dataset.target, dataset.task, dataset.classes)
        decision = decide(holdout, candidate.preds, candidate.metrics, champion, rules, found.gates(config))
        if (iv := decision.intervals.primary) is not None:
            runner.info(
                f"{rules.primary}: candidate − champion = {iv.observed:+.4g}, 95 % interval "
                f"[{iv.low:+.4g}, {iv.high:+.4g}]: {iv.direction}"
            )
    return Evaluation(config, dataset, rules, candidate, champion, found, decision, place.as_dict(), timings)


@contextlib.contextmanager
def _stage(runner: Runner, title: str, timings: dict[str, float]) -> Iterator[None]:
    """One log group, its duration kept in ``timings``."""
    started = time.perf_counter()
    with runner.group(title):
        yield
    timings[title] = time.perf_counter() - started


def _load(config: Config, runner: Runner, fetch: Fetch) -> tuple[Dataset, Rules, list[str]]:
    """The dataset, the rules the decision uses (gates checked against the task) and the metric names."""
    from ml_action.core import metrics as m
    from ml_action.core.compare import validate_gates
    from ml_action.pipeline.data import load_dataset
    from ml_action.pipeline.tables import describe_separators

    dataset = load_dataset(config, fetch)
    runner.info(
        f"{dataset.task}: {len(dataset.train)} training rows, {len(dataset.test)} holdout rows, "
        f"{len(dataset.features)} features"
    )
    if separators := describe_separators(dataset.fingerprints, config.csv_separator):
        runner.info(separators)
    n_classes = len(dataset.classes) if dataset.classes else None
    primary = m.primary_metric(config.primary_metric, dataset.task, n_classes)
    validate_gates(config.gates, dataset.task, n_classes)
    return dataset, Rules.of(config, primary), m.metrics_for(dataset.task, n_classes)


def _search(
    config: Config,
    runner: Runner,
    dataset: Dataset,
    model: Any,
    params: dict[str, Any],
    prefix: str,
    primary: str,
    place: Place,
) -> tuple[SearchResult, dict[str, Any]]:
    """Run the search; the model keeps the chosen parameters, which join the fixed ones."""
    from ml_action.pipeline import search

    searched = search.run(
        model,
        config.search,
        prefix,
        config.search_method,
        config.search_iter,
        config.cv,
        config.seed,
        dataset,
        primary,
        place,
        runner,
    )
    model.set_params(**{prefix + k: v for k, v in searched.chosen.items()})
    return searched, search.chosen_params(params, searched)


def _train(
    runner: Runner,
    dataset: Dataset,
    model: Any,
    params: dict[str, Any],
    names: list[str],
    primary: str,
    cv: dict[str, Any] | None,
    searched: SearchResult | None,
) -> Candidate:
    """Fit on the training part and score on the holdout."""
    from ml_action.core import metrics as m
    from ml_action.pipeline.model import checked_predict, describe, fit

    started = time.perf_counter()
    with runner.heartbeat("fitting"):  # a long fit (no cap on sizes) stays visible in the log
        model = fit(model, dataset.X_train, dataset.y_train)
    fit_seconds = time.perf_counter() - started
    preds = checked_predict(model, dataset.X_test, dataset.task)
    metrics, notes = m.score(dataset.y_test, preds, dataset.task, names)
    runner.info(f"fitted in {fit_seconds:.2f} s; {primary} = {metrics.get(primary)}")
    return Candidate(model, describe(model), params, preds, metrics, notes, fit_seconds, cv, searched)


def _champion(
    config: Config, runner: Runner, registry: Registry, dataset: Dataset, names: list[str], primary: str, workdir: Path
) -> ChampionScore | None:
    """The champion re-scored on the holdout, or ``None`` when there is none yet."""
    from ml_action.pipeline.rescore import score_champion

    pointer, _ = registry.champion()
    if pointer is None:
        runner.info(f"no champion in {registry.uri} yet")
        return None
    champion = score_champion(
        registry,
        pointer,
        dataset.test,
        dataset.target,
        dataset.task,
        dataset.classes,
        names,
        workdir,
        config.allow_unsafe_model_format,
    )
    runner.info(f"champion {champion.version}: {primary} = {champion.metrics.get(primary)}")
    return champion


def cross_validate(
    model: Any, dataset: Dataset, folds: int, seed: int, names: list[str], runner: Runner
) -> dict[str, Any] | None:
    """k-fold CV on the training part, every metric as mean ± std."""
    if folds == 0:
        return None
    if folds == 1:
        raise UserError("cv", "1 fold is not cross-validation", "Set `cv` to 0 (off) or to 2 or more folds.")
    import numpy as np
    from sklearn.base import clone
    from sklearn.model_selection import KFold, StratifiedKFold

    from ml_action.core.metrics import score
    from ml_action.pipeline.model import checked_predict, fit

    X, y = dataset.X_train, dataset.y_train
    if dataset.task == "classification" and y.value_counts().min() >= folds:
        splitter: Any = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    else:
        splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    if len(X) < folds:
        raise UserError("cv", f"{folds} folds need at least {folds} training rows, there are {len(X)}", "Lower `cv`.")
    per_metric: dict[str, list[float]] = {n: [] for n in names}
    for i, (tr, va) in enumerate(splitter.split(X, y), 1):
        fold = fit(clone(model), X.iloc[tr], y.iloc[tr])
        values, _ = score(
            y.iloc[va], checked_predict(fold, X.iloc[va], dataset.task, f"cv fold {i}"), dataset.task, names
        )
        for name, value in values.items():
            per_metric[name].append(value)
        runner.info(f"cv fold {i}/{folds} done")
    scores = {n: {"mean": float(np.mean(v)), "std": float(np.std(v))} for n, v in per_metric.items() if v}
    return {"folds": folds, "scores": scores}


def params_table(model: Any) -> dict[str, str]:
    """The estimator's own parameters (``get_params(deep=True)``) as ``repr``, nested estimators left out."""
    out = {}
    for key, value in sorted(model.get_params(deep=True).items()):
        if hasattr(value, "get_params") or isinstance(value, (list, tuple)) and value and isinstance(value[0], tuple):
            continue
        out[key] = repr(value)
    return out
