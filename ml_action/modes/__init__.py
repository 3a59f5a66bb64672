"""The modes: one function per mode, each a straight line of calls into the core and the adapters it is
handed, registered in ``MODES``; ``decide_mode`` picks one for ``mode: auto``.

Every mode has the signature ``(config, ctx, runner, registry, workdir) -> exit code``; ``registry`` is
``None`` only for the modes in ``NO_REGISTRY``. No mode module imports another: shared pieces live in the
core (``evaluation``, ``compare``, ``report``) and the adapters (``github_api``, ``registry``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ml_action.adapters.registry import Registry
from ml_action.adapters.runner import Runner
from ml_action.config import Config
from ml_action.context import RunContext
from ml_action.modes.alias import alias
from ml_action.modes.comment_file import comment
from ml_action.modes.evaluate import evaluate, publish
from ml_action.modes.leaderboard import leaderboard
from ml_action.modes.monitor import monitor
from ml_action.modes.registry_ops import list_versions, rollback
from ml_action.modes.reproduce import diff, reproduce

Mode = Callable[[Config, RunContext, Runner, "Registry | None", Path], int]

MODES: dict[str, Mode] = {
    "evaluate": evaluate,
    "publish": publish,
    "rollback": rollback,
    "alias": alias,
    "list": list_versions,
    "comment": comment,
    "monitor": monitor,
    "reproduce": reproduce,
    "diff": diff,
    "leaderboard": leaderboard,
}
NO_REGISTRY: frozenset[str] = frozenset()  # every mode opens one (`comment` re-scores the champion)


def decide_mode(config: Config, ctx: RunContext) -> str:
    """``auto``: pull_request → evaluate; push to the default branch → publish; anything else → evaluate."""
    if config.mode != "auto":
        return config.mode
    if ctx.event_name in ("pull_request", "pull_request_target"):
        return "evaluate"
    if ctx.event_name == "push" and ctx.default_branch and ctx.ref == f"refs/heads/{ctx.default_branch}":
        return "publish"
    return "evaluate"
