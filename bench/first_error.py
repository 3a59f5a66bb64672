"""How soon a person's mistake in the settings is reported at a shell (issue 14: goal 0.5 s on this machine).

Runs `ml-action` (this checkout's entrypoint.py, stdout piped) ``--runs`` times per case in a temporary folder
and prints the median and range of the wall time to exit, beside `--version` (the floor: the interpreter and
the cli module) and `python -c pass`:

- no ml-action.yml and no `--data` (the file that was looked for is named);
- `--data` that does not exist; a path outside the workspace;
- an unknown `--target` column in a CSV;
- a semicolon CSV read with `--csv-separator ,`.

    python bench/first_error.py [--runs 7]

These are checked by ml_action/pipeline/preflight.py before pandas and scikit-learn are imported.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = {
    "python -c pass": ["-c", "pass"],
    "--version": [str(ROOT / "entrypoint.py"), "--version"],
    "no config, no data": [str(ROOT / "entrypoint.py")],
    "missing data file": [str(ROOT / "entrypoint.py"), "--data", "nope.csv", "--target", "y"],
    "path outside the workspace": [str(ROOT / "entrypoint.py"), "--data", "../x.csv", "--target", "y"],
    "unknown target": [str(ROOT / "entrypoint.py"), "--data", "semi.csv", "--target", "nope"],
    "wrong separator": [
        str(ROOT / "entrypoint.py"),
        "--data",
        "semi.csv",
        "--target",
        "churned",
        "--csv-separator",
        ",",
    ],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "semi.csv").write_text("plan;region;churned\n" + "basic;north;1\npro;south;0\n" * 500)
        env = {"PATH": "/usr/bin:/bin", "HOME": tmp, "PYTHONPATH": str(ROOT)}
        print("| case | median | min–max | exit |\n| --- | ---: | ---: | ---: |")
        for name, argv in CASES.items():
            times, code = [], 0
            for _ in range(args.runs):
                start = time.perf_counter()
                done = subprocess.run([sys.executable, *argv], cwd=folder, env=env, capture_output=True)
                times.append(time.perf_counter() - start)
                code = done.returncode
            print(f"| {name} | {statistics.median(times):.2f} s | {min(times):.2f}–{max(times):.2f} s | {code} |")


if __name__ == "__main__":
    main()
