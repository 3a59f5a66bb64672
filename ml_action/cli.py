"""Command line and action entry: parse argv and the environment ONCE into a ``Config`` and a ``RunContext``,
pick the mode, build the adapters, and turn a ``UserError`` into one ``::error::`` line and exit code 1,
anything unexpected into one ``::error::`` + the traceback in a collapsed group and exit code 2. With
``ml_action.api`` (the library's entry point), the only module that reads ``os.environ``."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
from collections.abc import Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ml_action import __version__
from ml_action.config import INPUTS
from ml_action.errors import UserError

if TYPE_CHECKING:
    from ml_action.adapters.runner import Runner
    from ml_action.adapters.terminal import Terminal
    from ml_action.context import RunContext
    from ml_action.modes import Mode

AWS_SECRETS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def settings_flags() -> argparse.ArgumentParser:
    """One flag per input (``--test-size VALUE``), shared by ``ml-action`` and ``ml-action run``."""
    flags = argparse.ArgumentParser(add_help=False)
    group = flags.add_argument_group("settings (the flags of `run`, the default command)")
    for spec in INPUTS:
        default = f" (default: {spec.default})" if spec.default else ""
        group.add_argument(
            f"--{spec.name}",
            dest=spec.name.replace("-", "_"),
            metavar="VALUE",
            help=spec.description.replace("%", "%%") + default,
        )
    return flags


def parser() -> argparse.ArgumentParser:
    settings = settings_flags()
    top = argparse.ArgumentParser(
        prog="ml-action",
        parents=[settings],
        usage="ml-action [run] [--mode MODE] [--data VALUE] [--target VALUE] [...settings]",
        description="Train, evaluate and compare a scikit-learn model with the champion in a registry; "
        "gate it, publish it and promote it. Runs as a GitHub Action or at a shell. "
        "`ml-action --mode list` is `ml-action run --mode list`: `run` is the default command.",
        epilog="Every flag can also come from an INPUT_<NAME> variable or the config file (ml-action.yml). "
        "Precedence: defaults < config file < INPUT_* < flags.",
    )
    top.add_argument("--version", action="version", version=f"ml-action {__version__}")
    sub = top.add_subparsers(dest="command", title="commands")
    sub.add_parser(
        "run",
        prog="ml-action run",
        help="run a mode (the default command)",
        parents=[settings],
        description="Run one mode of ml-action with the given settings.",
    )
    fetch = sub.add_parser(
        "fetch",
        help="download a published model file, sha256 verified",
        description="Download the model an alias (default: champion) or a version points at, "
        "check its sha256 against the manifest, and write it to --out.",
    )
    fetch.add_argument("--registry", default=".ml-action/registry", help="a folder or s3://bucket/prefix")
    fetch.add_argument("--model-name", default="model", help="the model's name in the registry")
    which = fetch.add_mutually_exclusive_group()
    which.add_argument("--alias", help="an alias: champion (default), staging, ...")
    which.add_argument("--version", dest="model_version", metavar="VERSION", help="a version id (v7) or latest")
    fetch.add_argument("--out", default="model.skops", help="where to write the file (default: model.skops)")
    fetch.add_argument("--cache-dir", help="download cache, by sha256 (default: ~/.cache/ml-action)")
    fetch.add_argument("--s3-endpoint-url", help="an S3-compatible endpoint (else AWS_ENDPOINT_URL)")
    fetch.add_argument("--aws-region", help="the bucket's region (else from the environment)")
    fetch.add_argument(
        "--allow-unsafe-model-format",
        action="store_true",
        help="also write a pickle/joblib file (it runs code when loaded)",
    )
    return top


def arrow_allocator(environ: MutableMapping[str, str]) -> None:
    """Arrow's memory pool for this process: jemalloc on Linux, unless ``ARROW_DEFAULT_MEMORY_POOL`` is set.

    Must run before pyarrow is first imported (pandas imports it). Arrow's default (mimalloc) keeps freed
    pages mapped, glibc's malloc fragments on large frames; jemalloc (in pyarrow's Linux wheels; elsewhere
    the default stays) had the lowest peak RSS at every size, in one run each (docs/benchmarks.md): reading a
    10,000,000-row CSV 5.1 GB (mimalloc 7.3, glibc 6.2), a 1,000,000-row evaluation 958 MiB (1,181, 1,432),
    a 10,000-row one 263 MiB (283, 262).
    """
    if sys.platform.startswith("linux"):
        environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Entry point for the console script, ``python -m ml_action`` and the Docker image."""
    if env is None:
        arrow_allocator(os.environ)
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0].startswith("--") and args[0] not in ("--help", "-h", "--version"):
        args = ["run", *args]
    namespace = parser().parse_args(args)
    if namespace.command == "fetch":
        return fetch(vars(namespace), dict(os.environ if env is None else env))
    flags = {k: v for k, v in vars(namespace).items() if k != "command" and v is not None}
    return run(flags, dict(os.environ if env is None else env))


def fetch(args: Mapping[str, object], env: Mapping[str, str]) -> int:
    """``ml-action fetch``: the verified model file of an alias or version, written to ``--out``."""
    from ml_action import api
    from ml_action.adapters.runner import Runner
    from ml_action.context import RunContext

    runner = Runner(RunContext.from_env(env))
    for name in AWS_SECRETS:
        for line in (env.get(name) or "").splitlines():
            runner.mask(line.strip())
    try:
        cache = str(args.get("cache_dir") or "")
        reg = api.open_at(
            str(args["registry"]),
            str(args["model_name"]),
            str(args.get("s3_endpoint_url") or ""),
            str(args.get("aws_region") or ""),
            env,
        )
        found = api.fetch_from(
            reg,
            str(args.get("alias") or "") or None,
            str(args.get("model_version") or "") or None,
            Path(cache).expanduser() if cache else api.default_cache_dir(env),
        )
        out = api.copy_verified(found, Path(str(args["out"])), bool(args.get("allow_unsafe_model_format")))
    except UserError as exc:
        runner.error(exc.annotation(), title=exc.input)
        return 1
    except Exception as exc:
        _report_bug(runner, exc)
        return 2
    how = f"alias {found.alias}" if found.alias else "version"
    runner.info(
        f"fetched {found.uri} ({how}, version {found.version}, sha256 {found.sha256}"
        f"{'' if found.downloaded else ', from the cache'}) to {out}"
    )
    return 0


ISSUES_URL = "https://github.com/ml-action/ml-action/issues"


def run(flags: Mapping[str, str], env: Mapping[str, str], modes: Mapping[str, Mode] | None = None) -> int:
    """Run the mode the settings pick; ``modes`` replaces the ``MODES`` table (tests)."""
    from ml_action.adapters.runner import Runner
    from ml_action.context import RunContext

    token = flags.get("github_token") or env.get("INPUT_GITHUB-TOKEN", "")
    ctx = RunContext.from_env(env, has_token=bool(token))
    runner = Runner(ctx, terminal=_terminal(env, ctx))
    # secrets come only from the environment; masked before anything else is printed
    for secret in (token, *(env.get(name) for name in AWS_SECRETS)):
        for line in (secret or "").splitlines():
            runner.mask(line.strip())
    code = 2
    try:
        with runner.capture_warnings():
            code = _run(flags, env, ctx, runner, modes)
    except UserError as exc:
        runner.error(user_message(exc, flags, env, ctx.github_actions), title=exc.input)
        code = 1
    except Exception as exc:  # the last resort: a bug, not a user's mistake
        _report_bug(runner, exc)
        code = 2
    finally:
        if runner.outputs:
            runner.print_outputs()
        runner.finish(code)
    return code


def _terminal(env: Mapping[str, str], ctx: RunContext) -> Terminal | None:
    """A ``Terminal`` when a person reads stdout (see ``terminal.wanted``); rich is imported only then."""
    from ml_action.adapters import terminal

    if not terminal.wanted(env, sys.stdout, ctx.github_actions):
        return None
    return terminal.Terminal(sys.stdout, env)


def user_message(exc: UserError, flags: Mapping[str, str], env: Mapping[str, str], github_actions: bool) -> str:
    """The error as the person reads it: inputs named as flags at a shell (`` `--to-version v<N>` ``) and as
    inputs under Actions (`` `to-version: v<N>` ``); a path error also says how the workspace was chosen."""
    from ml_action.errors import WorkspaceError, for_shell

    problem = exc.problem
    if isinstance(exc, WorkspaceError):
        chosen = flags.get("workspace") or env.get("INPUT_WORKSPACE")
        origin = (
            ("set by `workspace`" if github_actions else "set by `--workspace`")
            if chosen
            else ("GITHUB_WORKSPACE, the repository checkout" if env.get("GITHUB_WORKSPACE") else "the current folder")
        )
        where = str(exc.workspace.resolve()) if exc.workspace else ""
        if where and problem.endswith(where):
            problem = f"{problem} ({origin})"
        elif where and f"{where} " in problem or f"{where})" in problem:
            problem = problem.replace(where, f"{where} ({origin})", 1)
        else:
            problem = f"{problem} (the workspace is {origin})"
    if github_actions:
        hint = exc.hint
    else:
        hint = exc.shell_hint if exc.shell_hint is not None else for_shell(exc.hint, {s.name for s in INPUTS})
    return f"{problem}. {hint}".strip()


def _report_bug(runner: Runner, exc: BaseException) -> None:
    """One ``::error`` saying what failed and where to report it; the traceback in a collapsed group."""
    import traceback

    from ml_action.errors import first_line

    runner.error(
        f"ml-action failed unexpectedly: {type(exc).__name__}: {first_line(exc, 300)}. This is a bug in "
        f"ml-action, not in your settings: please report it at {ISSUES_URL} with the traceback "
        "from the log group 'Traceback'.",
        title="internal error",
    )
    with runner.group("Traceback"):
        runner.info("".join(traceback.format_exception(exc)).rstrip())


def _run(
    flags: Mapping[str, str], env: Mapping[str, str], ctx: RunContext, runner: Runner, modes: Mapping[str, Mode] | None
) -> int:
    from ml_action.config import load_config
    from ml_action.pipeline.preflight import preflight

    config = load_config(env, flags)
    if not config.dask_scheduler and ctx.dask_scheduler:  # the input's default is Dask's own variable
        config = dataclasses.replace(config, dask_scheduler=ctx.dask_scheduler)
    if modes is None:  # the checks of our modes' settings, before the heavy imports below
        preflight(config)
    from ml_action.adapters.registry import open_registry
    from ml_action.modes import MODES, NO_REGISTRY, decide_mode

    table = MODES if modes is None else modes
    mode = decide_mode(config, ctx)
    handler = table.get(mode)
    if handler is None:
        raise UserError("mode", f"mode '{mode}' is not available in this version", f"Use one of: {', '.join(table)}.")
    registry = (
        None
        if mode in NO_REGISTRY
        else open_registry(config, ctx.aws_env, lambda text: runner.warning(text, title="registry"), runner.info)
    )
    with tempfile.TemporaryDirectory(prefix="ml-action-") as tmp:
        return handler(config, ctx, runner, registry, Path(tmp))
