"""Where and when a run came from: git sha and ref, run id and URL, actor, library versions, and the UTC
timestamp every record carries (manifests, pointers, claims: one format, so they sort and compare).

The registry imports ``utc_now`` from here, so ``subprocess`` and ``importlib.metadata`` load only in the
functions that need them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ml_action import __version__
from ml_action.context import RunContext

LIBRARIES = ("scikit-learn", "numpy", "scipy", "pandas", "pyarrow", "skops")


def utc_now() -> str:
    """Now, in UTC, as ``2024-05-01T12:00:00.123456Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def git_info(ctx: RunContext, workspace: Path) -> dict[str, Any]:
    """The commit and ref of this run (from the runner, else from ``git`` in the workspace)."""
    import subprocess

    sha, ref = ctx.sha, ctx.ref
    if not sha:
        try:
            sha = subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=workspace, capture_output=True, text=True, timeout=10
            ).stdout.strip()
            ref = (
                ref
                or subprocess.run(
                    ["git", "rev-parse", "--abbrev-ref", "HEAD"],
                    cwd=workspace,
                    capture_output=True,
                    text=True,
                    timeout=10,
                ).stdout.strip()
            )
        except (OSError, subprocess.SubprocessError):
            sha = ""
    return {"sha": sha or None, "ref": ref or None, "repository": ctx.repository or None}


def run_info(ctx: RunContext) -> dict[str, Any]:
    return {
        "id": ctx.run_id or None,
        "attempt": ctx.run_attempt or None,
        "url": ctx.run_url,
        "workflow": ctx.workflow or None,
        "event": ctx.event_name or None,
    }


def actor(ctx: RunContext) -> str:
    import getpass

    if ctx.actor:
        return ctx.actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def library_versions() -> dict[str, str]:
    import platform
    from importlib import metadata

    out = {"python": platform.python_version(), "ml-action": __version__}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
