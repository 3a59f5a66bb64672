"""Benchmark: what the data checks and the bootstrap add to a training run (target: <= 10 % at 1,000,000 rows).

For each size, builds ``make_classification`` data (20 numeric features + 2 categorical columns),
fits ``HistGradientBoostingClassifier()`` on 80 % and times, on the same data:
``profile_frame`` (training rows) + ``compare_profiles`` (that profile vs the 20 % holdout frame)
+ ``paired_bootstrap`` (1000 resamples, candidate vs a weaker champion).

*Before* is what ``evaluate`` did before decisions used intervals: one paired bootstrap (the primary
metric, f1_macro). *After* adds what they cost at most in a training run: a second paired bootstrap (a
gate rule with ``confidence`` on another metric, accuracy), the candidate's own-value intervals (read
from the same resamples) and writing ``reference.parquet`` (the holdout labels and predictions ``publish``
keeps for the monitor). ``leakage_warnings`` and the monitor's two-sample bootstrap (reference = the
holdout, fresh = as many rows again; no training in ``mode: monitor``) are timed and shown apart.

    OMP_NUM_THREADS=1 python bench/drift_overhead.py [--rows 100000,1000000] [--resamples 1000]

The checks are single-threaded numpy; HGB uses every core through OpenMP. Pin OMP_NUM_THREADS=1 for a
like-for-like share (and on a busy machine, where OpenMP threads contend and the fit time balloons).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def make_data(rows: int, seed: int) -> pd.DataFrame:
    from sklearn.datasets import make_classification

    x, y = make_classification(
        n_samples=rows, n_features=20, n_informative=10, n_redundant=4, flip_y=0.05, random_state=seed
    )
    df = pd.DataFrame(x, columns=[f"f{i}" for i in range(20)])
    rng = np.random.default_rng(seed)
    # categorical columns loosely tied to the label, as pandas categories (HGB reads them natively)
    region = np.where(rng.random(rows) < 0.3, rng.integers(0, 8, rows), y * 4 + rng.integers(0, 4, rows))
    df["region"] = pd.Categorical(region.astype(str))
    df["plan"] = pd.Categorical(rng.choice(["free", "basic", "pro", "team", "enterprise"], size=rows))
    df["target"] = y
    return df


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - start, out


def run(rows: int, resamples: int, seed: int = 0) -> dict[str, float]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import accuracy_score, f1_score

    from ml_action.core.drift import compare_profiles
    from ml_action.core.leakage import leakage_warnings
    from ml_action.core.metrics import Predictions
    from ml_action.core.profile import profile_frame
    from ml_action.core.stats import paired_bootstrap, two_sample_bootstrap
    from ml_action.records.reference import write_reference

    df = make_data(rows, seed)
    cut = int(rows * 0.8)
    train, holdout = df.iloc[:cut], df.iloc[cut:].reset_index(drop=True)
    features = [c for c in df.columns if c != "target"]

    fit_s, model = timed(HistGradientBoostingClassifier(random_state=seed).fit, train[features], train["target"])
    champion = HistGradientBoostingClassifier(max_iter=15, random_state=seed).fit(
        train[features].iloc[: min(cut, 20_000)], train["target"].iloc[: min(cut, 20_000)]
    )
    y = holdout["target"].to_numpy()
    pred_candidate, pred_champion = model.predict(holdout[features]), champion.predict(holdout[features])

    profile_s, profile = timed(profile_frame, train, "target", seed)
    compare_s, drift = timed(compare_profiles, profile, holdout, "target")
    f1 = lambda t, p: f1_score(t, p, average="macro", zero_division=0)  # noqa: E731
    boot_f1_s, b_f1 = timed(
        paired_bootstrap,
        y,
        pred_candidate,
        pred_champion,
        f1,
        True,
        n_resamples=resamples,
        seed=seed,
        metric_name="f1_macro",
    )
    boot_acc_s, b_acc = timed(
        paired_bootstrap,
        y,
        pred_candidate,
        pred_champion,
        accuracy_score,
        True,
        n_resamples=resamples,
        seed=seed,
        metric_name="accuracy",
    )
    leak_s, leaks = timed(leakage_warnings, train, holdout, "target", "classification", seed)
    with tempfile.TemporaryDirectory() as tmp:
        preds = Predictions(pred_candidate, model.predict_proba(holdout[features]), list(model.classes_))
        reference_s, _ = timed(write_reference, y, preds, Path(tmp) / "reference.parquet")
    own_s, _ = timed(b_f1.value_interval, 0.95)
    fresh = df.iloc[: len(holdout)]
    pred_fresh = model.predict(fresh[features])
    two_s, _ = timed(
        two_sample_bootstrap,
        y,
        pred_candidate,
        fresh["target"].to_numpy(),
        pred_fresh,
        f1,
        True,
        n_resamples=resamples,
        seed=seed,
        metric_name="f1_macro",
    )
    before = profile_s + compare_s + boot_f1_s
    total = before + boot_acc_s + reference_s + own_s
    print(
        f"  [{rows:,} rows] drift: {len(drift.drifted_columns)} drifted of {len(drift.columns)}; "
        f"f1_macro diff {b_f1.observed:+.4f} [{b_f1.low:+.4f}, {b_f1.high:+.4f}] ({b_f1.method}, "
        f"{b_f1.rows_used:,} rows); leakage warnings: {len(leaks)}",
        flush=True,
    )
    return {
        "rows": rows,
        "fit": fit_s,
        "profile": profile_s,
        "compare": compare_s,
        "bootstrap": boot_f1_s,
        "second": boot_acc_s,
        "reference": reference_s + own_s,
        "before": before,
        "before_share": before / fit_s,
        "total": total,
        "share": total / fit_s,
        "leakage": leak_s,
        "two_sample": two_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000,1000000", help="comma-separated dataset sizes")
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    results = [run(int(r), args.resamples) for r in args.rows.split(",")]
    print(f"\nOMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset (all cores)')}, cores: {os.cpu_count()}")
    print(
        "| rows | HGB fit (80 %) | profile_frame | compare_profiles | bootstrap (primary) | before | share of fit "
        "| 2nd bootstrap | reference rows | after | share of fit | leakage (apart) | monitor two-sample (apart) |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(
            f"| {r['rows']:,} | {r['fit']:.2f} s | {r['profile']:.2f} s | {r['compare']:.2f} s | "
            f"{r['bootstrap']:.2f} s | {r['before']:.2f} s | {r['before_share']:.1%} | {r['second']:.2f} s | "
            f"{r['reference']:.2f} s | {r['total']:.2f} s | **{r['share']:.1%}** | {r['leakage']:.2f} s | "
            f"{r['two_sample']:.2f} s |"
        )


if __name__ == "__main__":
    main()
