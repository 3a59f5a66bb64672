"""Issue 15's packaging: the `dask` extra, dask in the image's lock, and no Dask import on the fast paths."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\[<>=!~ ;]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


def test_the_dask_extra_is_declared_tested_and_in_the_image() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert any(r.startswith("dask[distributed]") for r in extras["dask"])
    assert any(r.startswith("dask[distributed]") for r in extras["test"])  # the Dask tests never skip
    lock = (ROOT / "requirements.lock").read_text()
    pinned = set(re.findall(r"^([A-Za-z0-9_.-]+)==", lock, flags=re.M))
    pinned = {p.lower().replace("_", "-") for p in pinned}
    # rich is imported only at a terminal, never in the image (requirements.lock's header says so)
    assert (_names(project["dependencies"]) - {"rich"}) | {"dask", "distributed"} <= pinned


def test_version_and_config_import_no_dask() -> None:
    code = (
        "import sys, ml_action.cli, ml_action.config, ml_action.pipeline.search, ml_action.adapters.cluster; "
        "sys.exit(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed', 'sklearn', "
        "'joblib', 'scipy', 'pandas')) or 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    version = subprocess.run([sys.executable, "-m", "ml_action", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert version.returncode == 0 and version.stdout.startswith("ml-action ")
