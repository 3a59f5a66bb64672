"""Where a run came from: git sha and ref, run id and URL, actor, library versions."""

from __future__ import annotations

import platform
import subprocess
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from ml_action import __version__

LIBRARIES = ("scikit-learn", "numpy", "scipy", "pandas", "pyarrow", "skops")


def git_info(env: Mapping[str, str], workspace: Path) -> dict[str, Any]:
    sha = env.get("GITHUB_SHA", "")
    ref = env.get("GITHUB_REF", "")
    if not sha:
        try:
            sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=workspace, capture_output=True, text=True,
                                 timeout=10).stdout.strip()
            ref = ref or subprocess.run(["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=workspace,
                                        capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            sha = ""
    return {"sha": sha or None, "ref": ref or None, "repository": env.get("GITHUB_REPOSITORY") or None}


def run_url(env: Mapping[str, str]) -> str | None:
    """``GITHUB_SERVER_URL/GITHUB_REPOSITORY/actions/runs/GITHUB_RUN_ID``, or ``None`` outside Actions."""
    repo, run_id = env.get("GITHUB_REPOSITORY"), env.get("GITHUB_RUN_ID")
    if not repo or not run_id:
        return None
    server = (env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/")
    return f"{server}/{repo}/actions/runs/{run_id}"


def run_info(env: Mapping[str, str]) -> dict[str, Any]:
    return {"id": env.get("GITHUB_RUN_ID"), "attempt": env.get("GITHUB_RUN_ATTEMPT"), "url": run_url(env),
            "workflow": env.get("GITHUB_WORKFLOW"), "event": env.get("GITHUB_EVENT_NAME")}


def actor(env: Mapping[str, str]) -> str:
    import getpass

    if env.get("GITHUB_ACTOR"):
        return env["GITHUB_ACTOR"]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "ml-action": __version__}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
