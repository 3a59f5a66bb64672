"""One evaluation: train the candidate, re-score the champion on the same holdout rows, run the data and
confidence checks, apply the gates, and gather what the report templates need. Used by the ``evaluate``
and ``publish`` modes; it publishes nothing and posts nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml_action import checks, escape, pictures
from ml_action.compare import NOT_PROMOTED, ChampionScore, Row, Verdict
from ml_action.config import Config, Gate, require
from ml_action.errors import UserError
from ml_action.metrics import Predictions
from ml_action.report import report_target
from ml_action.runner import Runner

if TYPE_CHECKING:
    from ml_action.cluster import Place
    from ml_action.data import Dataset
    from ml_action.registry import Registry


@dataclass
class Evaluation:
    """Everything one evaluation learned; ``context`` is what the report templates see."""

    config: Config
    dataset: Dataset
    model: Any
    primary: str
    metrics: dict[str, float]
    preds: Predictions
    champion: ChampionScore | None
    verdict: Verdict
    context: dict[str, Any]
    checks: checks.Checks


def gates_with_default(config: Config, primary: str) -> tuple[tuple[Gate, ...], str | None]:
    """Unless a rule names the primary metric, guard it: the candidate may not be worse than the champion,
    judged on the paired interval at the default confidence (a point comparison would fail on noise)."""
    from ml_action.decide import DEFAULT_CONFIDENCE

    if any(g.metric == primary for g in config.gates):
        return config.gates, None
    note = (
        f"No gate names the primary metric {primary}, so the default rule applies: the candidate may not "
        f"be worse than the champion on it (`max-regression: 0`, `confidence: {DEFAULT_CONFIDENCE}`)."
    )
    return (*config.gates, Gate(metric=primary, max_regression=0.0, confidence=DEFAULT_CONFIDENCE)), note


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

    from ml_action.metrics import score
    from ml_action.model import checked_predict, fit

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
    out = {}
    for key, value in sorted(model.get_params(deep=True).items()):
        if hasattr(value, "get_params") or isinstance(value, (list, tuple)) and value and isinstance(value[0], tuple):
            continue
        out[key] = repr(value)
    return out


def train_and_compare(
    config: Config, runner: Runner, registry: Registry, workdir: Path, aws_env: Mapping[str, str]
) -> Evaluation:
    """Train the candidate, re-score the champion on the same rows, compare and apply the gates;
    ``aws_env`` (the run context's AWS_* variables) lets ``s3://`` data be read. Every joblib-parallel part
    runs where ``dask-scheduler`` says (``ml_action.cluster``), connected before any work."""
    from ml_action.cluster import connect

    require(config, "data", "target")
    report_target(config)  # a bad report-path fails before any work
    with connect(config.dask_scheduler, runner) as place:
        ev = _train_and_compare(config, runner, registry, workdir, aws_env, place)
    ev.context["compute"] = place.as_dict()
    return ev


def _train_and_compare(
    config: Config, runner: Runner, registry: Registry, workdir: Path, aws_env: Mapping[str, str], place: Place
) -> Evaluation:
    from ml_action import metrics as m
    from ml_action import search
    from ml_action.compare import champion_checks, compare, score_champion, validate_gates, verdict
    from ml_action.data import load_dataset
    from ml_action.model import checked_predict, describe, fit, make_candidate
    from ml_action.tables import describe_separators

    with runner.group("Load data"):
        dataset = load_dataset(config, workdir, aws_env)
        runner.info(
            f"{dataset.task}: {len(dataset.train)} training rows, {len(dataset.test)} holdout rows, "
            f"{len(dataset.features)} features"
        )
        if separators := describe_separators(dataset.fingerprints, config.csv_separator):
            runner.info(separators)
        n_classes = len(dataset.classes) if dataset.classes else None
        primary = m.primary_metric(config.primary_metric, dataset.task, n_classes)
        validate_gates(config.gates, dataset.task, n_classes)
        names = m.metrics_for(dataset.task, n_classes)
    with runner.group("Build model"):
        model, params, prefix = make_candidate(config, dataset.task, dataset.X_train)
        runner.info(f"estimator: {describe(model)}")
    searched = None
    if config.search:
        with runner.group(f"Search ({config.search_method})"):
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
            params = search.chosen_params(params, searched)
    cv = None
    if config.cv:
        with runner.group(f"Cross-validate ({config.cv} folds)"):
            cv = cross_validate(model, dataset, config.cv, config.seed, names, runner)
    with runner.group("Train candidate"):
        started = time.perf_counter()
        with runner.heartbeat("fitting"):  # a long fit (no cap on sizes) stays visible in the log
            model = fit(model, dataset.X_train, dataset.y_train)
        fit_seconds = time.perf_counter() - started
        preds = checked_predict(model, dataset.X_test, dataset.task)
        metrics, notes = m.score(dataset.y_test, preds, dataset.task, names)
        runner.info(f"fitted in {fit_seconds:.2f} s; {primary} = {metrics.get(primary)}")
    with runner.group("Score the champion"):
        pointer, _ = registry.champion()
        champion = None
        if pointer is None:
            runner.info(f"no champion in {registry.uri} yet")
        else:
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
    gates, default_note = gates_with_default(config, primary)
    with runner.group("Data checks and confidence"):
        found = checks.run_checks(config, dataset, champion, runner)
        checks.confidence(config, dataset, primary, preds, champion, found, gates)
        if found.interval is not None:
            iv = found.interval
            runner.info(
                f"{primary}: candidate − champion = {iv.observed:+.4g}, 95 % interval "
                f"[{iv.low:+.4g}, {iv.high:+.4g}]: {iv.direction}"
            )
    champ_metrics = champion.metrics if champion and champion.comparable else None
    result = verdict(
        gates,
        metrics,
        champ_metrics,
        dataset.task,
        extra=[*champion_checks(champion, NOT_PROMOTED), *found.gates(config)],
        intervals=found.intervals,
        interval_notes=found.interval_notes,
    )
    rows = compare(metrics, champ_metrics)
    context = _context(
        config, dataset, model, params, primary, rows, result, champion, cv, fit_seconds, notes, default_note
    )
    context["profile"] = found.profile
    context["interval"] = checks.interval_context(found, primary)
    context["interval_note"] = found.interval_note
    note = checks.inconclusive_note(result, config.on_inconclusive)
    if note:
        context["notes"].append(note)
    context["sections"] = [checks.data_section(found, dataset)]
    context["sections"].append(pictures.section(dataset.task, dataset.y_test, preds, champion, dataset.classes))
    context["model_params"] = params  # fixed + chosen by the search: what `reproduce` rebuilds
    context["search"] = searched.context() if searched else None
    context["search_record"] = searched.record() if searched else None
    return Evaluation(config, dataset, model, primary, metrics, preds, champion, result, context, found)


def _context(
    config: Config,
    dataset: Dataset,
    model: Any,
    params: dict[str, Any],
    primary: str,
    rows: list[Row],
    result: Verdict,
    champion: ChampionScore | None,
    cv: dict[str, Any] | None,
    fit_seconds: float,
    notes: dict[str, str],
    default_note: str | None,
) -> dict[str, Any]:
    from dataclasses import asdict

    from ml_action.model import describe
    from ml_action.report import headline, mermaid_chart

    champion_version = champion.version if champion else None
    report_notes = []
    if champion and not champion.comparable and "*" in champion.notes:
        report_notes.append(
            f"Champion {escape.code(champion.version)} was not compared: {escape.md(champion.notes['*'], 1000)}."
        )
    if champion and champion.missing_features:
        missing = champion.missing_features
        more = f" and {len(missing) - 20:,} more" if len(missing) > 20 else ""
        report_notes.append(
            f"Champion {escape.code(champion.version)} could not be scored: it uses "
            f"{', '.join(escape.code(c, 100) for c in missing[:20])}{more}, missing from this data."
        )
    if default_note and champion_version:
        report_notes.append(default_note)
    metric_notes = {"candidate": notes}
    if champion and champion.comparable and champion.notes:
        metric_notes["champion"] = champion.notes
    positive = dataset.classes[1] if dataset.classes and len(dataset.classes) == 2 else None
    return {
        "model_name": config.model_name,
        "verdict": result.word,
        "primary": primary,
        "headline": headline(primary, rows, champion_version),
        "champion_version": champion_version,
        "rows": [asdict(r) for r in rows],
        "gates": [asdict(g) for g in result.gates],
        "notes": report_notes,
        "holdout_rows": len(dataset.test),
        "task": dataset.task,
        "classes": dataset.classes,
        "positive": positive,
        "estimator": describe(model),
        "features": dataset.features,
        "params": {**params_table(model), **{k: repr(v) for k, v in params.items()}},
        "fit_seconds": fit_seconds,
        "fingerprints": dataset.fingerprints,
        "cv": cv,
        "metric_notes": {k: v for k, v in metric_notes.items() if v},
        "chart": mermaid_chart(rows, champion_version),
        "published": None,
        "sections": [],
    }


def set_outputs(runner: Runner, ev: Evaluation) -> None:
    """The outputs every evaluation sets (``evaluate`` and ``publish``)."""
    champ = ev.champion.metrics if ev.champion and ev.champion.comparable else None
    runner.set_output("verdict", ev.verdict.word)
    runner.set_output("primary-metric", ev.primary)
    runner.set_output("primary-metric-value", f"{ev.metrics[ev.primary]:.6g}" if ev.primary in ev.metrics else "")
    runner.set_output("metrics", json.dumps({"candidate": ev.metrics, "champion": champ}, sort_keys=True))
    runner.set_output("champion-version", ev.champion.version if ev.champion else "")
    for name, value in ev.checks.outputs().items():
        runner.set_output(name, value)


def annotate_gates(runner: Runner, ev: Evaluation) -> None:
    for gate in ev.verdict.failed():
        runner.error(gate.reason, title=f"gate failed: {gate.rule}")
    for gate in ev.verdict.inconclusive():
        runner.warning(f"{gate.rule}: {gate.reason}. {checks.INCONCLUSIVE_ADVICE}", title="inconclusive")
    for gate in ev.verdict.gates:
        if gate.passed and gate.note == "warning":
            runner.warning(gate.reason, title=f"gate warning: {gate.rule}")
