"""Command line and action entry: parse argv and the environment ONCE into a ``Config`` and a ``RunContext``,
pick the mode, build the adapters, and turn a ``UserError`` into one ``::error::`` line and exit code 1,
anything unexpected into one ``::error::`` + the traceback in a collapsed group and exit code 2. The only
module that reads ``os.environ``."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ml_action import __version__
from ml_action.config import INPUTS
from ml_action.errors import UserError

if TYPE_CHECKING:
    from ml_action.context import RunContext
    from ml_action.modes import Mode
    from ml_action.runner import Runner

AWS_SECRETS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="ml-action",
        description="Train, evaluate and compare a scikit-learn model with the champion in a registry; "
                    "gate it, publish it and promote it. Runs as a GitHub Action or at a shell.",
        epilog="Every flag can also come from an INPUT_<NAME> variable or the config file (ml-action.yml). "
               "Precedence: defaults < config file < INPUT_* < flags.")
    top.add_argument("--version", action="version", version=f"ml-action {__version__}")
    sub = top.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run a mode (the default command)",
                         description="Run one mode of ml-action with the given settings.")
    for spec in INPUTS:
        default = f" (default: {spec.default})" if spec.default else ""
        run.add_argument(f"--{spec.name}", dest=spec.name.replace("-", "_"), metavar="VALUE",
                         help=spec.description.replace("%", "%%") + default)
    return top


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Entry point for the console script, ``python -m ml_action`` and the Docker image."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0].startswith("--") and args[0] not in ("--help", "-h", "--version"):
        args = ["run", *args]
    namespace = parser().parse_args(args)
    flags = {k: v for k, v in vars(namespace).items() if k != "command" and v is not None}
    return run(flags, dict(os.environ if env is None else env))


ISSUES_URL = "https://github.com/ml-action/ml-action/issues"


def run(flags: Mapping[str, str], env: Mapping[str, str], modes: Mapping[str, Mode] | None = None) -> int:
    """Run the mode the settings pick; ``modes`` replaces the ``MODES`` table (tests)."""
    from ml_action.context import RunContext
    from ml_action.runner import Runner

    token = flags.get("github_token") or env.get("INPUT_GITHUB-TOKEN", "")
    ctx = RunContext.from_env(env, has_token=bool(token))
    runner = Runner(ctx)
    # secrets come only from the environment; masked before anything else is printed
    for secret in (token, *(env.get(name) for name in AWS_SECRETS)):
        for line in (secret or "").splitlines():
            runner.mask(line.strip())
    try:
        return _run(flags, env, ctx, runner, modes)
    except UserError as exc:
        runner.error(exc.annotation(), title=exc.input)
        return 1
    except Exception as exc:  # the last resort: a bug, not a user's mistake
        _report_bug(runner, exc)
        return 2
    finally:
        if runner.outputs:
            runner.print_outputs()


def _report_bug(runner: Runner, exc: BaseException) -> None:
    """One ``::error`` saying what failed and where to report it; the traceback in a collapsed group."""
    import traceback

    from ml_action.errors import first_line

    runner.error(f"ml-action failed unexpectedly: {type(exc).__name__}: {first_line(exc, 300)}. This is a bug in "
                 f"ml-action, not in your settings: please report it at {ISSUES_URL} with the traceback "
                 "from the log group 'Traceback'.", title="internal error")
    with runner.group("Traceback"):
        runner.info("".join(traceback.format_exception(exc)).rstrip())


def _run(flags: Mapping[str, str], env: Mapping[str, str], ctx: RunContext, runner: Runner,
         modes: Mapping[str, Mode] | None) -> int:
    from ml_action.config import load_config
    from ml_action.modes import MODES, NO_REGISTRY, decide_mode
    from ml_action.registry import open_registry

    table = MODES if modes is None else modes
    config = load_config(env, flags)
    if not config.dask_scheduler and ctx.dask_scheduler:  # the input's default is Dask's own variable
        config = dataclasses.replace(config, dask_scheduler=ctx.dask_scheduler)
    mode = decide_mode(config, ctx)
    handler = table.get(mode)
    if handler is None:
        raise UserError("mode", f"mode '{mode}' is not available in this version",
                        f"Use one of: {', '.join(table)}.")
    registry = None if mode in NO_REGISTRY else open_registry(
        config, ctx.aws_env, lambda text: runner.warning(text, title="registry"))
    with tempfile.TemporaryDirectory(prefix="ml-action-") as tmp:
        return handler(config, ctx, runner, registry, Path(tmp))
