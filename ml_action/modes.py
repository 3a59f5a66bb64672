"""One function per mode, each a straight line of calls into the core and the adapters it is handed.

``evaluate`` trains the candidate, re-scores the champion on the same holdout rows, applies the gates
and reports; ``publish`` does that, then writes an immutable version and promotes it by compare-and-swap;
``rollback`` re-points the champion; ``list_versions`` shows what the registry holds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ml_action import checks, github
from ml_action.config import Config, Gate, confine, require
from ml_action.errors import UserError, first_line
from ml_action.registry.base import Registry
from ml_action.runner import Runner


@dataclass
class ChampionScore:
    """The champion re-scored on the candidate's holdout rows."""

    pointer: dict[str, Any]
    manifest: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    missing_features: list[str] = field(default_factory=list)
    preds: Any = None
    comparable: bool = True

    @property
    def version(self) -> str:
        return self.pointer["version"]


@dataclass
class Evaluation:
    """Everything one evaluation learned; ``context`` is what the report templates see."""

    config: Config
    dataset: Any
    model: Any
    primary: str
    metrics: dict[str, float]
    preds: Any
    champion: ChampionScore | None
    verdict: Any
    context: dict[str, Any]
    checks: Any = None


# ---------------------------------------------------------------------------------------------- helpers


def _gates_with_default(config: Config, primary: str) -> tuple[tuple[Gate, ...], str | None]:
    """Unless a rule names the primary metric, guard it: the candidate may not be worse than the champion."""
    from ml_action.decide import DEFAULT_CONFIDENCE

    if any(g.metric == primary for g in config.gates):
        return config.gates, None
    note = (f"No gate names the primary metric {primary}, so the default rule applies: the candidate may not "
            f"be worse than the champion on it (`max-regression: 0`, `confidence: {DEFAULT_CONFIDENCE}`).")
    return (*config.gates, Gate(metric=primary, max_regression=0.0, confidence=DEFAULT_CONFIDENCE)), note


def score_champion(registry: Registry, pointer: dict[str, Any], dataset: Any, config: Config,
                   workdir: Path, names: list[str]) -> ChampionScore:
    """Load the champion (sha256 checked, restricted loader) and score it on the candidate's holdout."""
    from ml_action.metrics import predict, score

    version = pointer["version"]
    manifest = registry.manifest(version, "registry")
    result = ChampionScore(pointer=pointer, manifest=manifest)
    if manifest.get("task") not in (None, dataset.task):
        result.comparable = False
        result.notes["*"] = f"the champion is a {manifest.get('task')} model; this run is {dataset.task}"
        return result
    if manifest.get("target") not in (None, dataset.target):
        result.comparable = False
        result.notes["*"] = f"the champion predicts '{manifest['target']}', this run '{dataset.target}'"
        return result
    recorded = manifest.get("classes")
    if dataset.task == "classification" and recorded and not set(map(str, recorded)) & set(
            map(str, dataset.classes or [])):
        result.comparable = False
        result.notes["*"] = (f"the champion's labels ({', '.join(map(str, recorded[:5]))}) share none with this "
                             f"data's ({', '.join(map(str, (dataset.classes or [])[:5]))}): the target was re-encoded")
        return result
    used = manifest.get("features") or []
    result.missing_features = [c for c in used if c not in dataset.test.columns]
    if result.missing_features:
        result.comparable = False
        return result
    model = registry.fetch_model(version, manifest, workdir, config.allow_unsafe_model_format)
    X = dataset.test[used] if used else dataset.X_test
    try:
        result.preds = predict(model, X, dataset.task)
    except (ValueError, KeyError, TypeError) as exc:
        result.comparable = False
        result.notes["*"] = f"the champion could not predict on this holdout ({first_line(exc, 200)})"
        return result
    result.metrics, result.notes = score(dataset.y_test, result.preds, dataset.task, names)
    return result


def _champion_checks(champion: ChampionScore | None) -> list[Any]:
    from ml_action.compare import GateResult

    if champion is None:
        return []
    if champion.missing_features:
        cols = ", ".join(champion.missing_features)
        return [GateResult("champion features present", "*", False,
                           f"feature(s) {cols} used by champion {champion.version} are missing from the data; "
                           "a model that cannot be compared with production is not promoted (publish under a "
                           "new `model-name` if the change is deliberate)")]
    if not champion.comparable:
        return [GateResult("champion comparable", "*", False,
                           f"champion {champion.version} could not be scored on these rows: "
                           f"{champion.notes.get('*', 'unknown reason')}; a model that cannot be compared with "
                           "production is not promoted (publish under a new `model-name` if the change is "
                           "deliberate)")]
    return []


def cross_validate(model: Any, dataset: Any, folds: int, seed: int, names: list[str],
                   runner: Runner) -> dict[str, Any] | None:
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
        raise UserError("cv", f"{folds} folds need at least {folds} training rows, there are {len(X)}",
                        "Lower `cv`.")
    per_metric: dict[str, list[float]] = {n: [] for n in names}
    for i, (tr, va) in enumerate(splitter.split(X, y), 1):
        fold = fit(clone(model), X.iloc[tr], y.iloc[tr])
        values, _ = score(y.iloc[va], checked_predict(fold, X.iloc[va], dataset.task, f"cv fold {i}"),
                          dataset.task, names)
        for name, value in values.items():
            per_metric[name].append(value)
        runner.info(f"cv fold {i}/{folds} done")
    scores = {n: {"mean": float(np.mean(v)), "std": float(np.std(v))} for n, v in per_metric.items() if v}
    return {"folds": folds, "scores": scores}


def _params_table(model: Any) -> dict[str, str]:
    out = {}
    for key, value in sorted(model.get_params(deep=True).items()):
        if hasattr(value, "get_params") or isinstance(value, (list, tuple)) and value and \
                isinstance(value[0], tuple):
            continue
        out[key] = repr(value)
    return out


def report_target(config: Config) -> Path:
    """Where the report goes, checked before any work: inside the workspace, not a folder, parent creatable."""
    path = confine(config.workspace, config.report_path, "report-path")
    blocked = next((p for p in [path, *path.parents] if p.exists() and not p.is_dir()), None)
    if path.is_dir() or (blocked is not None and blocked != path):
        raise UserError("report-path", f"'{config.report_path}' is a folder or lies under a file",
                        "Name a markdown file, e.g. `reports/model.md`.")
    return path


def write_report(config: Config, runner: Runner, parts: Any, footer: str = "") -> Path:
    path = report_target(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = parts.full(footer)
    path.write_text(runner.redact(text), encoding="utf-8")
    runner.summary(text)
    return path


# ---------------------------------------------------------------------------------------------- evaluate


def evaluate(config: Config, runner: Runner, registry: Registry, env: Mapping[str, str],
             workdir: Path) -> Evaluation:
    """Train the candidate, re-score the champion on the same rows, compare and apply the gates."""
    from ml_action import metrics as m
    from ml_action.compare import compare, validate_gates, verdict
    from ml_action.data import load_dataset
    from ml_action.model import checked_predict, describe, fit, make_model

    require(config, "data", "target")
    report_target(config)
    with runner.group("Load data"):
        dataset = load_dataset(config, workdir)
        runner.info(f"{dataset.task}: {len(dataset.train)} training rows, {len(dataset.test)} holdout rows, "
                    f"{len(dataset.features)} features")
        n_classes = len(dataset.classes) if dataset.classes else None
        primary = m.primary_metric(config.primary_metric, dataset.task, n_classes)
        validate_gates(config.gates, dataset.task, n_classes)
        names = m.metrics_for(dataset.task, n_classes)
    with runner.group("Build model"):
        model, params = make_model(config, dataset.task, dataset.X_train)
        runner.info(f"estimator: {describe(model)}")
    cv = None
    if config.cv:
        with runner.group(f"Cross-validate ({config.cv} folds)"):
            cv = cross_validate(model, dataset, config.cv, config.seed, names, runner)
    with runner.group("Train candidate"):
        started = time.perf_counter()
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
            champion = score_champion(registry, pointer, dataset, config, workdir, names)
            runner.info(f"champion {champion.version}: {primary} = {champion.metrics.get(primary)}")
    gates, default_note = _gates_with_default(config, primary)
    with runner.group("Data checks and confidence"):
        found = checks.run_checks(config, dataset, champion, runner)
        checks.confidence(config, dataset, primary, preds, champion, found, gates)
        if found.interval is not None:
            iv = found.interval
            runner.info(f"{primary}: candidate − champion = {iv.observed:+.4g}, 95 % interval "
                        f"[{iv.low:+.4g}, {iv.high:+.4g}]: {iv.direction}")
    champ_metrics = champion.metrics if champion and champion.comparable else None
    result = verdict(gates, metrics, champ_metrics, dataset.task,
                     extra=[*_champion_checks(champion), *found.gates(config)], intervals=found.intervals,
                     interval_notes=found.interval_notes)
    rows = compare(metrics, champ_metrics)
    context = _context(config, dataset, model, params, primary, rows, result, champion, cv, fit_seconds,
                       notes, default_note)
    context["profile"] = found.profile
    context["interval"] = checks.interval_context(found, primary)
    context["interval_note"] = found.interval_note
    note = checks.inconclusive_note(result, config.on_inconclusive)
    if note:
        context["notes"].append(note)
    context["sections"] = [checks.data_section(found, dataset)]
    return Evaluation(config, dataset, model, primary, metrics, preds, champion, result, context, found)


def _context(config: Config, dataset: Any, model: Any, params: dict[str, Any], primary: str, rows: list[Any],
             result: Any, champion: ChampionScore | None, cv: Any, fit_seconds: float,
             notes: dict[str, str], default_note: str | None) -> dict[str, Any]:
    from dataclasses import asdict

    from ml_action.model import describe
    from ml_action.report import headline, mermaid_chart

    champion_version = champion.version if champion else None
    report_notes = []
    if champion and not champion.comparable and "*" in champion.notes:
        report_notes.append(f"Champion `{champion.version}` was not compared: {champion.notes['*']}.")
    if champion and champion.missing_features:
        report_notes.append(f"Champion `{champion.version}` could not be scored: it uses "
                            f"{', '.join(champion.missing_features)}, missing from this data.")
    if default_note and champion_version:
        report_notes.append(default_note)
    metric_notes = {"candidate": notes}
    if champion and champion.comparable and champion.notes:
        metric_notes["champion"] = champion.notes
    positive = dataset.classes[1] if dataset.classes and len(dataset.classes) == 2 else None
    return {
        "model_name": config.model_name, "verdict": result.word, "primary": primary,
        "headline": headline(primary, rows, champion_version), "champion_version": champion_version,
        "rows": [asdict(r) for r in rows], "gates": [asdict(g) for g in result.gates], "notes": report_notes,
        "holdout_rows": len(dataset.test), "task": dataset.task, "classes": dataset.classes,
        "positive": positive, "estimator": describe(model), "features": dataset.features,
        "params": {**_params_table(model), **{k: repr(v) for k, v in params.items()}},
        "fit_seconds": fit_seconds, "fingerprints": dataset.fingerprints, "cv": cv,
        "metric_notes": {k: v for k, v in metric_notes.items() if v},
        "chart": mermaid_chart(rows, champion_version), "published": None, "sections": [],
    }


def _set_evaluation_outputs(runner: Runner, ev: Evaluation) -> None:
    champ = ev.champion.metrics if ev.champion and ev.champion.comparable else None
    runner.set_output("verdict", ev.verdict.word)
    runner.set_output("primary-metric", ev.primary)
    runner.set_output("primary-metric-value", f"{ev.metrics[ev.primary]:.6g}" if ev.primary in ev.metrics else "")
    runner.set_output("metrics", json.dumps({"candidate": ev.metrics, "champion": champ}, sort_keys=True))
    runner.set_output("champion-version", ev.champion.version if ev.champion else "")
    for name, value in ev.checks.outputs().items():
        runner.set_output(name, value)


def _annotate_gates(runner: Runner, ev: Evaluation) -> None:
    for gate in ev.verdict.failed():
        runner.error(gate.reason, title=f"gate failed: {gate.rule}")
    for gate in ev.verdict.inconclusive():
        runner.warning(f"{gate.rule}: {gate.reason}. {checks.INCONCLUSIVE_ADVICE}", title="inconclusive")
    for gate in ev.verdict.gates:
        if gate.passed and gate.note == "warning":
            runner.warning(gate.reason, title=f"gate warning: {gate.rule}")


def finish(config: Config, runner: Runner, ev: Evaluation, env: Mapping[str, str]) -> int:
    """Render the report, write it and the outputs; the exit code depends only on the gates."""
    from ml_action.report import build

    parts = build(ev.context)
    path = write_report(config, runner, parts, footer=_footer(env))
    runner.set_output("report-path", str(path.relative_to(config.workspace.resolve()))
                      if path.is_relative_to(config.workspace.resolve()) else str(path))
    _annotate_gates(runner, ev)
    runner.info(parts.head)
    # the comment (or the comment file) gets the same redaction as the log, summary and report
    url = github.post_or_save(config, env, runner.redact(parts.head), [runner.redact(d) for d in parts.details],
                              runner.warning)
    if url:
        runner.info(f"PR comment: {url}")
    runner.set_output("comment-url", url or "")
    return 1 if (not ev.verdict.ok(config.on_inconclusive) and config.fail_on_gate) else 0


def _footer(env: Mapping[str, str]) -> str:
    from ml_action.provenance import run_url

    url = run_url(env)
    return f"<sub>ml-action · [workflow run]({url})</sub>" if url else "<sub>ml-action</sub>"


def run_evaluate(config: Config, runner: Runner, registry: Registry, env: Mapping[str, str],
                 workdir: Path) -> int:
    ev = evaluate(config, runner, registry, env, workdir)
    _set_evaluation_outputs(runner, ev)
    runner.set_output("promoted", False)
    return finish(config, runner, ev, env)


# ---------------------------------------------------------------------------------------------- publish


def _manifest(ev: Evaluation, env: Mapping[str, str], snapshots: dict[str, Any] | None = None) -> dict[str, Any]:
    from ml_action.provenance import actor, git_info, library_versions, run_info
    from ml_action.registry.base import utc_now
    from ml_action.reproduce import prediction_record

    config, dataset = ev.config, ev.dataset
    champion = ev.champion
    return {
        "schema": 1, "model_name": config.model_name, "created_at": utc_now(), "by": actor(env),
        "git": git_info(env, config.workspace), "run": run_info(env),
        "task": dataset.task, "target": dataset.target, "features": dataset.features, "classes": dataset.classes,
        "estimator": ev.context["estimator"], "model": config.model, "params": dict(config.params),
        "estimator_params": ev.context["params"], "seed": config.seed,
        "primary_metric": ev.primary, "metrics": ev.metrics, "holdout_rows": len(dataset.test),
        "compared_with": {"version": champion.version, "metrics": champion.metrics} if champion else None,
        "gates": ev.verdict.to_dict(), "cv": ev.context["cv"],
        "data": {"fingerprints": dataset.fingerprints, "profile": ev.context.get("profile"), "snapshots": snapshots},
        "config": config.resolved(), "libraries": library_versions(), "predictions": prediction_record(ev.preds),
    }


def publish(config: Config, runner: Runner, registry: Registry, env: Mapping[str, str], workdir: Path) -> int:
    """Evaluate; when the gates pass, write an immutable version and promote it by compare-and-swap."""
    from ml_action.artifacts import save_model
    from ml_action.card import FILE as CARD
    from ml_action.card import write_card
    from ml_action.compare import verdict
    from ml_action.provenance import actor
    from ml_action.reference import FILE as REFERENCE
    from ml_action.reference import write_reference
    from ml_action.snapshot import enabled, store_snapshots

    ev = evaluate(config, runner, registry, env, workdir)
    _set_evaluation_outputs(runner, ev)
    if not ev.verdict.ok(config.on_inconclusive):
        runner.set_output("promoted", False)
        why = "the gates failed" if ev.verdict.failed() else "the gates were inconclusive (`on-inconclusive: fail`)"
        ev.context["published"] = f"Not published: {why}, so the champion is unchanged."
        return finish(config, runner, ev, env)
    gates, _ = _gates_with_default(config, ev.primary)
    if env.get("GITHUB_ACTIONS") == "true" and not config.is_s3:
        runner.warning(f"The registry '{config.registry}' is a folder in the runner's workspace, discarded when "
                       "the job ends: later runs will not see this champion. Use `registry: s3://bucket/prefix`.",
                       title="registry")
    with runner.group("Publish"):
        model_path = workdir / "model.skops"
        model_sha = save_model(ev.model, model_path)
        snapshots = store_snapshots(registry, ev.dataset, workdir, runner.info) if enabled(config) else None
        fields = _manifest(ev, env, snapshots)
        fields["reference"] = write_reference(ev.dataset.y_test, ev.preds, workdir / REFERENCE)
        git = fields["git"]
        version = registry.allocate_version({"git_sha": git["sha"], "run_id": env.get("GITHUB_RUN_ID")})
        card = write_card(ev.model, {**fields, "version": version}, model_path, model_sha, workdir / CARD)
        manifest = registry.write_version(version, model_path, fields,
                                          extra_files={CARD: card, REFERENCE: workdir / REFERENCE})
        runner.info(f"wrote version {version} to {registry.uri}")
    evaluated_against = ev.champion.version if ev.champion else None
    conflict_notes: list[str] = []

    def decide(current: dict[str, Any] | None) -> tuple[bool, str]:
        now = current.get("version") if current else None
        if now == evaluated_against:
            return True, ""
        # another run promoted first: compare with the new champion on our rows before replacing it
        note = f"Another run promoted `{now}` while this one ran; re-compared against it."
        if note not in conflict_notes:
            conflict_notes.append(note)
        if current is None:
            return True, ""
        names = list(ev.metrics)
        rescored = score_champion(registry, current, ev.dataset, config, workdir, names)
        found = checks.Checks(profile={})
        checks.confidence(config, ev.dataset, ev.primary, ev.preds, rescored, found, gates)
        again = verdict(gates, ev.metrics, rescored.metrics if rescored.comparable else None, ev.dataset.task,
                        extra=_champion_checks(rescored), intervals=found.intervals,
                        interval_notes=found.interval_notes)
        if again.ok(config.on_inconclusive):
            return True, ""
        reasons = "; ".join(g.reason for g in again.failed() or again.inconclusive())
        return False, f"the newer champion `{now}` is at least as good ({reasons})"

    with runner.group("Promote"):
        sha = manifest["artifacts"]["model.skops"]["sha256"]
        promotion = registry.swap_champion(version, sha, actor(env), "promote", decide,
                                           details={"git_sha": git["sha"], "run_id": env.get("GITHUB_RUN_ID")})
    uri = registry.store.url(registry.key("versions", version))
    runner.set_output("model-version", version)
    runner.set_output("model-uri", uri)
    runner.set_output("promoted", promotion.promoted)
    if promotion.promoted:
        runner.set_output("champion-version", version)
        text = (f"Published `{version}` ({uri}) and promoted it to champion"
                f"{f', replacing `{promotion.previous}`' if promotion.previous else ''}.")
        runner.notice(text, title="model promoted")
    else:
        now = promotion.champion.get("version") if promotion.champion else ""
        runner.set_output("champion-version", now)
        text = f"Published `{version}` ({uri}) but did not promote it: {promotion.reason}."
        runner.warning(text, title="not promoted")
    card_url = registry.store.url(registry.key("versions", version, CARD))
    ev.context["published"] = "\n".join([*conflict_notes, text, "", f"Model card: [{CARD}]({card_url})"])
    return finish(config, runner, ev, env)


# ---------------------------------------------------------------------------------------------- rollback, list


def rollback(config: Config, runner: Runner, registry: Registry, env: Mapping[str, str], workdir: Path) -> int:
    """Re-point the champion to ``to-version`` (an id or ``previous``) after verifying its artifacts."""
    from ml_action.provenance import actor

    wanted = config.to_version or "previous"
    with runner.group(f"Roll back to {wanted}"):
        before, _ = registry.champion()
        target = registry.resolve_version(wanted)
        registry.verify_version(target, workdir)
        manifest = registry.manifest(target)
        old = before.get("version") if before else None
        if old == target:
            raise UserError("to-version", f"{target} is already the champion", "Name another version.")

        def decide(current: dict[str, Any] | None) -> tuple[bool, str]:
            now = current.get("version") if current else None
            if now != old:
                return False, f"the champion changed to {now} while rolling back; run the rollback again"
            return True, ""

        sha = manifest["artifacts"]["model.skops"]["sha256"]
        promotion = registry.swap_champion(target, sha, actor(env), "rollback", decide,
                                           details={"run_id": env.get("GITHUB_RUN_ID")})
    if not promotion.promoted:
        raise UserError("to-version", promotion.reason, "Check `mode: list` and try again.")
    text = f"Rolled back `{config.model_name}`: champion `{old}` → `{target}`."
    runner.notice(text, title="rollback")
    runner.summary(f"## ⏪ ml-action · rollback\n\n{text}\n")
    runner.set_output("champion-version", target)
    runner.set_output("model-version", target)
    runner.set_output("promoted", True)
    return 0


def list_versions(config: Config, runner: Runner, registry: Registry, env: Mapping[str, str],
                  workdir: Path) -> int:
    """The versions with their primary metric, date and git sha; which one is champion."""
    champion, _ = registry.champion()
    current = champion.get("version") if champion else None
    rows = []
    for version in registry.versions():
        manifest = registry.manifest(version)
        primary = manifest.get("primary_metric")
        rows.append({"version": version, "champion": version == current, "created_at": manifest.get("created_at"),
                     "git_sha": (manifest.get("git") or {}).get("sha"), "primary_metric": primary,
                     "value": (manifest.get("metrics") or {}).get(primary)})
    lines = [f"## ml-action · versions of `{config.model_name}`", "",
             "| version | champion | primary metric | value | created | git sha |",
             "| --- | :---: | --- | ---: | --- | --- |"]
    for r in reversed(rows):
        value = f"{r['value']:.4f}" if isinstance(r["value"], (int, float)) else "—"
        lines.append(f"| `{r['version']}` | {'★' if r['champion'] else ''} | {r['primary_metric'] or '—'} | "
                     f"{value} | {r['created_at'] or '—'} | {(r['git_sha'] or '—')[:12]} |")
    if not rows:
        lines.append("| _none yet_ | | | | | |")
    table = "\n".join(lines)
    runner.info(table)
    runner.summary(table)
    runner.set_output("versions", json.dumps(rows))
    runner.set_output("champion-version", current or "")
    return 0


def comment(config: Config, runner: Runner, registry: Registry, env: Mapping[str, str], workdir: Path) -> int:
    """Post a comment file written by an untrusted (fork) run: the trusted ``workflow_run`` half."""
    with runner.group("Post the comment file"):
        url = github.post_comment_file(config, env)
    runner.info(f"comment: {url}")
    runner.set_output("comment-url", url)
    return 0


def monitor(config: Config, runner: Runner, registry: Registry, env: Mapping[str, str], workdir: Path) -> int:
    from ml_action.monitor import monitor as run_monitor

    return run_monitor(config, runner, registry, env, workdir)


def reproduce(config: Config, runner: Runner, registry: Registry, env: Mapping[str, str], workdir: Path) -> int:
    from ml_action.reproduce import reproduce as run

    return run(config, runner, registry, env, workdir)


def diff(config: Config, runner: Runner, registry: Registry, env: Mapping[str, str], workdir: Path) -> int:
    from ml_action.reproduce import diff as run

    return run(config, runner, registry, env, workdir)


MODES = {"evaluate": run_evaluate, "publish": publish, "rollback": rollback, "list": list_versions,
         "comment": comment, "monitor": monitor, "reproduce": reproduce, "diff": diff}


def decide_mode(config: Config, env: Mapping[str, str]) -> str:
    """``auto``: pull_request → evaluate; push to the default branch → publish; anything else → evaluate."""
    if config.mode != "auto":
        return config.mode
    event = env.get("GITHUB_EVENT_NAME", "")
    if event in ("pull_request", "pull_request_target"):
        return "evaluate"
    if event == "push":
        default = _default_branch(env)
        if default and env.get("GITHUB_REF") == f"refs/heads/{default}":
            return "publish"
    return "evaluate"


def _default_branch(env: Mapping[str, str]) -> str | None:
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return None
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return (payload.get("repository") or {}).get("default_branch")
