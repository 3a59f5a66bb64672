"""The benchmark: the action's evaluate mode (A) against a bare scikit-learn script (B), same run.

For each size (default 10,000, 100,000 and 1,000,000 rows × 20 numeric features, 2 categorical columns
and 5 % missing values) and each model (hist_gradient_boosting, logistic_regression):
  1. publish a champion with the action (not timed), so A has a champion to load and re-score;
  2. time A (``entrypoint.py``, mode evaluate, default settings: every report section on) and B
     (``bench/bare.py``) alternately, ``--repeats`` times each, in fresh processes;
  3. record the wall time and the peak RSS of each process (``os.wait4``).
Then startup (``--version``, ``--help``) and the import time of the run path. Writes ``docs/benchmarks.png``
and its own part of ``docs/benchmarks.md``, between ``<!-- bench:start -->`` and ``<!-- bench:end -->``; the
rest of that file (other benchmarks, the profile) is kept as it is.

    python bench/run.py [--sizes 10000,100000,1000000] [--10m] [--repeats 3] [--repeats-10m 1] [--out docs]
                        [--work DIR] [--baseline OTHER_CHECKOUT]

`--10m` adds 10,000,000 rows for hist_gradient_boosting only (opt-in: a 2.0 GB CSV, several GB of RAM per
process; on 2 cores ~7 min to write the CSV, ~10 min to publish the champion (skip it with --reuse-champion),
~10 min per A or B run; `--repeats-10m` runs, default 1). Each size's
results go to ``WORK/results.json`` as they come; ``--include`` adds another run's to the table. The load
average (1 minute) at the start and the end of each size is recorded with its figures: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("hist_gradient_boosting", "logistic_regression")
TEN_MILLION = 10_000_000
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def make_csv(rows: int, path: Path, seed: int = 0, chunk: int = 1_000_000) -> None:
    """``rows`` × 20 numeric features, 2 categorical columns, 5 % missing in 3 columns, a binary label.

    Written ``chunk`` rows at a time, so 10,000,000 rows need the 1.6 GB feature matrix and one chunk's
    frame, not a 10M-row frame of strings; up to ``chunk`` rows the file is the same as a one-shot write.
    """
    import numpy as np
    import pandas as pd
    from sklearn.datasets import make_classification

    x, y = make_classification(
        n_samples=rows, n_features=20, n_informative=10, n_redundant=4, flip_y=0.05, random_state=seed
    )
    rng = np.random.default_rng(seed)
    path.unlink(missing_ok=True)
    for start in range(0, rows, chunk):
        xs, ys = x[start : start + chunk], y[start : start + chunk]
        n = len(ys)
        frame = pd.DataFrame(xs, columns=[f"f{i}" for i in range(20)]).round(6)
        region = np.where(rng.random(n) < 0.3, rng.integers(0, 8, n), ys * 4 + rng.integers(0, 4, n))
        frame["region"] = np.char.add("r", region.astype(str))
        frame["plan"] = rng.choice(["free", "basic", "pro", "team", "enterprise"], size=n)
        for column in ("f0", "f5", "region"):
            frame.loc[rng.random(n) < 0.05, column] = None
        frame["label"] = np.where(ys == 1, "yes", "no")
        frame.to_csv(path, index=False, mode="a", header=start == 0)


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise RuntimeError(f"{cmd} failed: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
    return wall, usage.ru_maxrss / 1024


def action_env(workspace: Path, inputs: dict[str, str], root: Path = ROOT) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
    env.update({"GITHUB_WORKSPACE": str(workspace), "PYTHONPATH": str(root)})
    env.update({f"INPUT_{k.upper()}": v for k, v in inputs.items()})
    return env


def load() -> float:
    """The 1-minute load average: on a shared machine it says how much the figures can be trusted."""
    return os.getloadavg()[0]


def publish_champion(workspace: Path, inputs: dict[str, str]) -> None:
    """Publish a champion with the action (not timed), so A has one to load and re-score."""
    publish = subprocess.run(
        [sys.executable, str(ROOT / "entrypoint.py")],
        cwd=workspace,
        env=action_env(workspace, {**inputs, "mode": "publish", "gates": "[]"}),
        capture_output=True,
        text=True,
    )
    if publish.returncode != 0:
        raise RuntimeError(publish.stdout[-3000:] + publish.stderr[-3000:])


def bench_size(
    rows: int,
    repeats: int,
    work: Path,
    baseline: Path | None = None,
    models: tuple[str, ...] = MODELS,
    reuse: bool = False,
) -> list[dict]:
    data = work / f"data-{rows}.csv"
    if not data.exists():
        make_csv(rows, data)
    results = []
    for model in models:
        load_before = load()
        workspace = work / f"ws-{rows}-{model}"
        workspace.mkdir(exist_ok=True)
        (workspace / "data.csv").unlink(missing_ok=True)
        os.link(data, workspace / "data.csv")
        inputs = {"data": "data.csv", "target": "label", "model": model, "model-name": "bench"}
        champion = workspace / ".ml-action/registry/bench/versions/v1/model.skops"
        if reuse and champion.exists():
            print(f"{rows:>9,} {model:<24} champion: the one already in {workspace.name}", flush=True)
        else:
            publish_champion(workspace, inputs)
        a_cmd = [sys.executable, str(ROOT / "entrypoint.py")]
        a_env = action_env(workspace, {**inputs, "mode": "evaluate"})
        b_cmd = [
            sys.executable,
            str(ROOT / "bench" / "bare.py"),
            "data.csv",
            "label",
            model,
            str(champion),
            str(workspace / "bare.skops"),
        ]
        a_runs: list[tuple[float, float]] = []
        b_runs: list[tuple[float, float]] = []
        old_runs: list[tuple[float, float]] = []
        variants = [("A", a_runs, a_cmd, a_env), ("B", b_runs, b_cmd, dict(os.environ))]
        if baseline is not None:  # the action from another checkout (e.g. before an optimisation), same run
            variants.append(
                (
                    "A0",
                    old_runs,
                    [sys.executable, str(baseline / "entrypoint.py")],
                    action_env(workspace, {**inputs, "mode": "evaluate"}, baseline),
                )
            )
        for i in range(repeats):
            for name, runs, cmd, env in variants:
                wall, rss = timed(cmd, workspace, env)
                runs.append((wall, rss))
                print(f"{rows:>9,} {model:<24} {name:<2} run {i + 1}: {wall:7.2f} s {rss:8.0f} MiB", flush=True)
        a_wall = statistics.median(w for w, _ in a_runs)
        b_wall = statistics.median(w for w, _ in b_runs)
        result = {
            "rows": rows,
            "model": model,
            "a": a_wall,
            "b": b_wall,
            "ratio": a_wall / b_wall,
            "overhead": a_wall - b_wall,
            "a_rss": max(r for _, r in a_runs),
            "b_rss": max(r for _, r in b_runs),
            "runs": repeats,
            "load": (load_before, load()),
        }
        if old_runs:
            old = statistics.median(w for w, _ in old_runs)
            result.update(a0=old, a0_ratio=old / b_wall, a0_rss=max(r for _, r in old_runs))
        results.append(result)
    return results


def startup(repeats: int = 7) -> dict[str, float]:
    out = {}
    for label, args in (("--version", ["--version"]), ("--help", ["--help"])):
        walls = []
        for _ in range(repeats):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "ml_action", *args], cwd=ROOT, capture_output=True, check=True)
            walls.append(time.perf_counter() - started)
        out[label] = statistics.median(walls)
    walls = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], capture_output=True, check=True)
        walls.append(time.perf_counter() - started)
    out["python -c pass"] = statistics.median(walls)
    code = (
        "import ml_action.modes, ml_action.pipeline.checks, ml_action.pipeline.data, ml_action.pipeline.model, "
        "ml_action.core.metrics, ml_action.report.markdown, ml_action.core.drift, ml_action.core.leakage, "
        "ml_action.core.stats, sklearn.ensemble, pandas, skops.io"
    )
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=ROOT, capture_output=True, text=True)
    total = 0
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[2].strip() and not parts[2].startswith("  ") and parts[1].strip().isdigit():
            total += int(parts[1])
    out["imports of the run path"] = total / 1e6
    return out


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = [m for m in MODELS if any(r["model"] == m for r in results)]  # a --10m run alone has one
    fig, axes = plt.subplots(1, len(models), figsize=(5 * len(models), 4), squeeze=False)
    for ax, model in zip(axes[0], models, strict=True):
        rows = [r for r in results if r["model"] == model]
        sizes = [r["rows"] for r in rows]
        ax.plot(sizes, [r["a"] for r in rows], "o-", label="A: ml-action evaluate")
        ax.plot(sizes, [r["b"] for r in rows], "s--", label="B: bare scikit-learn script")
        for r in rows:
            ax.annotate(f"×{r['ratio']:.2f}", (r["rows"], r["a"]), textcoords="offset points", xytext=(4, 6))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(model)
        ax.set_xlabel("rows")
        ax.set_ylabel("wall time (s), median")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write(results: list[dict], starts: dict[str, float], out: Path, repeats: int) -> None:
    """Replace this script's part of ``out/benchmarks.md`` (between the markers); keep everything else."""
    lines = [
        START,
        f"Run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, with `python bench/run.py` (alternating runs, *runs* each, "
        "medians; peak RSS is the maximum). A is `entrypoint.py` in `evaluate` mode with a champion in the "
        "local registry and every report section on (data checks, drift, leakage, 1000-resample bootstrap, "
        "pictures, the result bundle); B is `bench/bare.py`, the same essential work by hand. Shared machine: "
        "compare ratios, not seconds; *load* is the 1-minute load average before and after the size's runs.",
        "",
        "| rows | model | runs | A (s) | B (s) | A/B | A − B (s) | A peak RSS (MiB) | B peak RSS (MiB) "
        "| RSS A/B | load |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r['rows']:,} | {r['model']} | {r.get('runs', repeats)} | {r['a']:.2f} | {r['b']:.2f} | "
            f"{r['ratio']:.2f} | {r['overhead']:+.2f} | {r['a_rss']:.0f} | {r['b_rss']:.0f} | "
            f"{r['a_rss'] / r['b_rss']:.2f} | {r['load'][0]:.1f}–{r['load'][1]:.1f} |"
        )
    if any("a0" in r for r in results):
        lines += [
            "",
            "Before the optimisations (A0: the action at the baseline commit, timed in the same run):",
            "",
            "| rows | model | A0 (s) | A0/B | A/B | A0 peak RSS (MiB) | RSS A0/B |",
            "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in (r for r in results if "a0" in r):  # a size run without --baseline has none
            lines.append(
                f"| {r['rows']:,} | {r['model']} | {r['a0']:.2f} | {r['a0_ratio']:.2f} | {r['ratio']:.2f} | "
                f"{r['a0_rss']:.0f} | {r['a0_rss'] / r['b_rss']:.2f} |"
            )
    lines += ["", "![A vs B](benchmarks.png)", "", "| startup | seconds |", "| --- | ---: |"]
    lines += [f"| `{k}` | {v:.3f} |" for k, v in starts.items()]
    lines.append(END)
    path = out / "benchmarks.md"
    path.write_text(splice(path.read_text() if path.exists() else "", "\n".join(lines)))
    print("\n".join(lines))


def splice(text: str, block: str) -> str:
    """``text`` with the part between the markers replaced by ``block`` (which carries them); without markers,
    ``block`` goes right under the title and nothing of ``text`` is lost."""
    if START in text and END in text:
        head, rest = text.split(START, 1)
        return head + block + rest.split(END, 1)[1]
    if not text.strip():
        return f"# Benchmarks\n\n{block}\n"
    title, sep, rest = text.partition("\n")
    if title.startswith("# "):
        return f"{title}\n\n{block}\n{sep}{rest.lstrip(chr(10))}" if rest.strip() else f"{title}\n\n{block}\n"
    return f"{block}\n\n{text}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument(
        "--10m",
        dest="ten_million",
        action="store_true",
        help="also run 10,000,000 rows (slow, several GB of RAM: opt-in)",
    )
    parser.add_argument("--repeats", default="3", help="runs of A and B per size: one number, or one per size (3,3,2)")
    parser.add_argument("--repeats-10m", type=int, default=1, help="runs of A and B at 10,000,000 rows (default 1)")
    parser.add_argument("--out", default=str(ROOT / "docs"))
    parser.add_argument("--work", default="", help="folder for data and workspaces (default: a temporary one)")
    parser.add_argument("--baseline", default="", help="another checkout of ml-action to time as A0 (before/after)")
    parser.add_argument(
        "--reuse-champion",
        action="store_true",
        help="keep a champion already in WORK/ws-ROWS-MODEL (e.g. copied from a smaller size: "
        "re-scoring costs the same, and publishing one at 10M rows is an untimed 10-minute fit)",
    )
    parser.add_argument(
        "--include",
        action="append",
        default=[],
        help="results.json of another run (e.g. --10m run alone) to add to the table and plot",
    )
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="ml-action-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    sizes = [int(s) for s in args.sizes.split(",") if s]
    repeats = [int(r) for r in args.repeats.split(",")]
    repeats += [repeats[-1]] * (len(sizes) - len(repeats))
    baseline = Path(args.baseline) if args.baseline else None
    for rows, n in zip(sizes, repeats, strict=False):
        results.extend(bench_size(rows, n, work, baseline, reuse=args.reuse_champion))
        (work / "results.json").write_text(json.dumps(results, indent=1))
    if args.ten_million and TEN_MILLION not in sizes:  # one model: the bigger one, the question is whether it fits
        results.extend(
            bench_size(TEN_MILLION, args.repeats_10m, work, baseline, ("hist_gradient_boosting",), args.reuse_champion)
        )
        (work / "results.json").write_text(json.dumps(results, indent=1))
    for extra in args.include:
        results.extend(json.loads(Path(extra).read_text()))
    results.sort(key=lambda r: (r["rows"], MODELS.index(r["model"])))
    starts = startup()
    write(results, starts, out, repeats[0])  # the table first: a long run is not lost to a missing plotter
    try:
        plot(results, out / "benchmarks.png")
    except ModuleNotFoundError as exc:
        print(f"no plot: {exc} (pip install -e '.[bench]')", file=sys.stderr)


if __name__ == "__main__":
    main()
