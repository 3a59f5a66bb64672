"""Benchmark of issue 15: a random search through the action, on the runner's cores vs on a Dask cluster.

The same run of ``entrypoint.py`` (mode evaluate, ``search-method: random``, ``--candidates`` × ``--folds``,
HistGradientBoosting on ``--rows`` rows × 20 numeric features + 2 categorical, as bench/run.py makes them)
three ways, in fresh processes:

- ``local``: no scheduler: joblib's default backend (loky) with every core (``n_jobs=-1``);
- ``dask-1``: a ``LocalCluster`` on 127.0.0.1 with 1 worker process × 1 thread;
- ``dask-2``: the same with 2 worker processes × 1 thread each.

Each is timed ``--repeats`` times (alternating); the search's own seconds come from the action's log line
("N fits in X s"), the wall time from the process. Writes the table and the plot into docs/benchmarks.md
(between the ``search-dask`` markers) and docs/search-dask.png.

    python bench/search_dask.py [--rows 100000] [--candidates 40] [--folds 3] [--repeats 1] [--out docs]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SPACE = (
    "{learning_rate: {low: 0.02, high: 0.3, log: true}, max_leaf_nodes: {int: [8, 48]}, "
    "min_samples_leaf: {int: [10, 100]}, l2_regularization: {low: 0.000001, high: 1.0, log: true}}"
)
START, END = "<!-- search-dask:start -->", "<!-- search-dask:end -->"


def run_once(workspace: Path, args: argparse.Namespace, scheduler: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_", "DASK_"))}
    env.update(
        {
            "GITHUB_WORKSPACE": str(workspace),
            "PYTHONPATH": str(ROOT),
            "INPUT_DATA": "data.csv",
            "INPUT_TARGET": "label",
            "INPUT_MODEL": "hist_gradient_boosting",
            "INPUT_MODE": "evaluate",
            "INPUT_PARAMS": "{max_iter: 50, early_stopping: false}",
            "INPUT_SEARCH": SPACE,
            "INPUT_SEARCH-METHOD": "random",
            "INPUT_SEARCH-ITER": str(args.candidates),
            "INPUT_CV": str(args.folds),
            "INPUT_BOOTSTRAP": "0",
            "INPUT_COMMENT-MODE": "off",
        }
    )
    if scheduler:
        env["DASK_SCHEDULER_ADDRESS"] = scheduler
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(ROOT / "entrypoint.py")], cwd=workspace, env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(done.stdout[-3000:] + done.stderr[-3000:])
    found = re.search(r"(\d+) candidates, (\d+) fits in ([0-9.]+) s; chosen: (.*) \(", done.stdout)
    if not found:
        raise SystemExit("no search line in the log:\n" + done.stdout[-3000:])
    return {"wall": wall, "search": float(found.group(3)), "fits": int(found.group(2)), "chosen": found.group(4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--candidates", type=int, default=40)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()

    from distributed import LocalCluster

    from bench.run import make_csv

    results: dict[str, list[dict[str, Any]]] = {"local": [], "dask-1": [], "dask-2": []}
    with tempfile.TemporaryDirectory(prefix="ml-action-search-bench-") as tmp:
        workspace = Path(tmp)
        make_csv(args.rows, workspace / "data.csv")
        clusters = {
            name: LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
            )
            for name, n in (("dask-1", 1), ("dask-2", 2))
        }
        try:
            for repeat in range(args.repeats):
                for name in results:
                    address = clusters[name].scheduler_address if name in clusters else ""
                    result = run_once(workspace, args, address)
                    results[name].append(result)
                    print(
                        f"[{repeat + 1}/{args.repeats}] {name}: wall {result['wall']:.1f} s, search "
                        f"{result['search']:.1f} s, {result['fits']} fits",
                        flush=True,
                    )
        finally:
            for cluster in clusters.values():
                cluster.close()
    chosen = {r["chosen"] for rs in results.values() for r in rs}
    write(args, results, same_choice=len(chosen) == 1)


def write(args: argparse.Namespace, results: dict[str, list[dict[str, Any]]], same_choice: bool) -> None:
    med = {name: {k: statistics.median(r[k] for r in rs) for k in ("wall", "search")} for name, rs in results.items()}
    base = med["local"]["search"]
    load = os.getloadavg()[0]
    labels = {
        "local": "local joblib (loky), all cores",
        "dask-1": "LocalCluster, 1 worker process × 1 thread",
        "dask-2": "LocalCluster, 2 worker processes × 1 thread",
    }
    lines = [
        START,
        "## Hyperparameter search: local joblib vs a Dask cluster (`bench/search_dask.py`)",
        "",
        f"Run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} cores "
        f"(shared, load average {load:.1f} at the end), Python {platform.python_version()}: "
        f"`python bench/search_dask.py --rows {args.rows} --candidates {args.candidates} --folds "
        f"{args.folds} --repeats {args.repeats}` (medians). A random search of {args.candidates} candidates "
        f"× {args.folds} folds = {args.candidates * args.folds} fits of HistGradientBoosting (50 iterations) "
        f"on {args.rows:,} rows × 22 features, through `entrypoint.py`. *search* is the search alone (the "
        f"action's log), *wall* the whole run (load, search, final fit, holdout, report). The chosen "
        f"parameters were {'the same' if same_choice else 'NOT the same'} in every run.",
        "",
        "| where | search (s) | speed-up vs local | wall (s) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, m in med.items():
        lines.append(f"| {labels[name]} | {m['search']:.1f} | {base / m['search']:.2f}× | {m['wall']:.1f} |")
    lines += [
        "",
        "![search: local vs Dask](search-dask.png)",
        "",
        "How to read it. On one machine, Dask cannot beat loky by much: both run one fit per core, and this "
        "machine has 2 shared cores. What the table shows is the engine's cost: `dask-1` against `local` is "
        "the price of sending the work to another process through the scheduler; `dask-2` against "
        "`dask-1` is the scaling with workers (at most 2× here, less when other jobs hold the cores: when the "
        "load average is above the number of cores, a second process adds no CPU, and the table measures "
        "the engine's overhead under contention, not its scaling). On "
        "N machines with c cores each, a search of K candidates × k folds is K·k independent fits: expect "
        "close to N·c× the speed of one core while K·k ≥ 2·N·c (every worker busy) and each fit takes much "
        "longer than the per-task overhead (a few ms of scheduling, plus the transfer of its arguments).",
        "",
        "Where the overhead shows: (1) task size: joblib batches small fits into one task, but a fit of "
        "milliseconds (tiny data, a linear model) is dominated by scheduling: search those on the runner; "
        "(2) data transfer: the training rows are scattered to the workers once per search "
        "(`parallel_backend('dask', scatter=[X, y])`), so each task carries only the estimator and fold "
        "indices; without the scatter every task would ship the whole frame (here ~20 MB) again; (3) the "
        "connection and the workers' first imports of scikit-learn: about a second, once per run.",
        "",
        END,
    ]
    section = "\n".join(lines)
    path = args.out / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if START in text:
        text = text[: text.index(START)] + section + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is missing (pip install -e '.[bench]'): no plot")
        return
    fig, ax = plt.subplots(figsize=(6, 3))
    names = list(med)
    ax.barh(names, [med[n]["search"] for n in names], color=["#888", "#5a9", "#2a7"])
    for i, n in enumerate(names):
        ax.text(med[n]["search"], i, f" {med[n]['search']:.0f} s ({base / med[n]['search']:.2f}×)", va="center")
    ax.set_xlabel(f"search seconds ({args.candidates} candidates × {args.folds} folds, {args.rows:,} rows)")
    ax.invert_yaxis()
    ax.set_xlim(0, max(m["search"] for m in med.values()) * 1.35)
    fig.tight_layout()
    fig.savefig(args.out / "search-dask.png", dpi=120)


if __name__ == "__main__":
    main()
