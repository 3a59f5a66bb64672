"""Where a report goes: the report file (``report_target``, checked before any work) and the job summary
(``write_report``); the sticky PR comment, posted (or updated), or saved to ``comment-file`` with a hint on
how to post it when this run may not (no token, a fork's read-only token). Shared by every mode that reports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ml_action.adapters import github_api
from ml_action.config import Config
from ml_action.context import RunContext
from ml_action.errors import UserError
from ml_action.report.comment import fit_comment, marker, pr_marker
from ml_action.report.markdown import ReportParts, comment_footer
from ml_action.workspace import confine

if TYPE_CHECKING:
    from ml_action.adapters.runner import Runner


def _save(config: Config, body: str) -> Path:
    path = comment_target(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return path


def _fork_hint(path: Path, config: Config) -> str:
    return (
        f"The comment was saved to {path.relative_to(config.workspace.resolve())}. For a pull request from a "
        "fork, upload the result bundle (`result-dir`, default `ml-action-result/`) as an artifact and let a "
        "`workflow_run` workflow render and post the comment with `mode: comment` and `results` (see "
        "examples/workflows/fork-comment.yml). For a PR from this repository, give the job "
        "`permissions: pull-requests: write`."
    )


def post_or_save(
    config: Config, ctx: RunContext, head: str, details: list[str], warn: Callable[[str], None]
) -> str | None:
    """Post (or update) the sticky PR comment; returns its URL, or ``None`` when nothing was posted.

    No PR (push, schedule) or ``comment-mode: off`` → ``None``. No token, or a token that may not write
    (403, as for fork PRs) → the body goes to ``comment-file`` and ``warn`` says how to post it.
    Other failures after retries → a warning with the reason. GitHub trouble never raises: the job's
    result depends on the gates only. A ``comment-file`` outside the workspace is a ``UserError``.
    """
    pr = config.pr_number or ctx.pr_number
    if config.comment_mode == "off" or pr is None:
        return None
    comment_target(config)  # a bad path fails the same way every run
    key = config.comment_marker_key
    body = fit_comment(head, details, comment_footer(ctx), key=key).replace(
        marker(key), f"{marker(key)}\n{pr_marker(pr)}", 1
    )
    if not config.github_token or not ctx.repository:
        path = _save(config, body)
        missing = "`github-token` is empty" if not config.github_token else "GITHUB_REPOSITORY is not set"
        warn(f"The PR comment was not posted: {missing}. {_fork_hint(path, config)}")
        return None
    try:
        gh = github_api.client(config.github_token, ctx)
        return github_api.upsert_comment(
            gh, ctx.repository, pr, body, key, config.comment_mode, login=ctx.github_login
        ).url
    except github_api.GitHubError as exc:
        path = _save(config, body)
        saved = f"The comment was saved to {path.relative_to(config.workspace.resolve())}."
        if exc.status is None:
            warn(f"The PR comment was not posted: {exc.message}. {saved}")
        elif exc.status == 403 and not exc.rate_limited:
            warn(
                f"The PR comment was not posted: the token may not write to pull requests "
                f"({exc.message}). {_fork_hint(path, config)}"
            )
        else:
            warn(f"The PR comment was not posted: GitHub answered {exc.status} ({exc.message}). {saved}")
    return None


def report_footer(ctx: RunContext) -> str:
    """The last line of the report file and the job summary: a link to the run when there is one."""
    return f"<sub>ml-action · [workflow run]({ctx.run_url})</sub>" if ctx.run_url else "<sub>ml-action</sub>"


def report_target(config: Config) -> Path:
    """Where the report goes, checked before any work: inside the workspace, not a folder, parent creatable."""
    return _file_target(config, config.report_path, "report-path", "reports/model.md")


def comment_target(config: Config) -> Path:
    """Where the comment is saved when it cannot be posted, checked the same way before any work (a bad
    ``comment-file`` found only after publishing would fail a run whose model was promoted)."""
    return _file_target(config, config.comment_file, "comment-file", "ml-action-comment.md")


def check_targets(config: Config) -> None:
    """Every file a run may write, checked before it trains, publishes or posts anything."""
    report_target(config)
    comment_target(config)


def _file_target(config: Config, value: str, input_name: str, example: str) -> Path:
    path = confine(config.workspace, value, input_name)
    blocked = next((p for p in [path, *path.parents] if p.exists() and not p.is_dir()), None)
    if path.is_dir() or (blocked is not None and blocked != path):
        raise UserError(
            input_name, f"'{value}' is a folder or lies under a file", f"Name a markdown file, e.g. `{example}`."
        )
    return path


def write_report(config: Config, ctx: RunContext, runner: Runner, parts: ReportParts) -> Path:
    """Write the report file (redacted) and the job summary, with the footer; set the ``report-path`` output."""
    path = report_target(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = parts.full(report_footer(ctx))
    path.write_text(runner.redact(text), encoding="utf-8")
    runner.summary(text)
    root = config.workspace.resolve()
    runner.set_output("report-path", str(path.relative_to(root)) if path.is_relative_to(root) else str(path))
    return path
