"""Command line and action entry: parse argv and the environment into a ``Config``, pick the mode, build
the adapters, and turn a ``UserError`` into one ``::error::`` line and exit code 1."""

from __future__ import annotations

import argparse
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


def run(flags: Mapping[str, str], env: Mapping[str, str]) -> int:
    from ml_action.runner import Runner

    runner = Runner(env)
    token = flags.get("github_token") or env.get("INPUT_GITHUB-TOKEN", "")
    # secrets come only from the environment; masked before anything else is printed
    for secret in (token, *(env.get(name) for name in AWS_SECRETS)):
        for line in (secret or "").splitlines():
            runner.mask(line.strip())
    try:
        return _run(flags, env, runner)
    except UserError as exc:
        runner.error(exc.annotation(), title=exc.input)
        return 1
    finally:
        if runner.outputs:
            runner.print_outputs()


def _run(flags: Mapping[str, str], env: Mapping[str, str], runner: Runner) -> int:
    from ml_action import modes
    from ml_action.config import load_config
    from ml_action.registry import open_registry

    config = load_config(env, flags)
    mode = modes.decide_mode(config, env)
    handler = modes.MODES.get(mode)
    if handler is None:
        raise UserError("mode", f"mode '{mode}' is not available in this version",
                        f"Use one of: {', '.join(modes.MODES)}.")
    registry = open_registry(config, env, lambda text: runner.warning(text, title="registry")) \
        if mode != "comment" else None
    with tempfile.TemporaryDirectory(prefix="ml-action-") as tmp:
        return handler(config, runner, registry, env, Path(tmp))
