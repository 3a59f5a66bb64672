"""``mode: comment``: post the comment file an untrusted (fork) pull-request run saved, from the trusted
``workflow_run`` job. The text of the comment (markers, fitting under GitHub's limit) is ``ml_action.comment``;
this mode reads the file, checks which pull request it may go to, and posts it. Needs no registry.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ml_action import github_api
from ml_action.comment import fit_comment, read_comment_file
from ml_action.config import Config
from ml_action.context import RunContext
from ml_action.errors import UserError
from ml_action.runner import Runner
from ml_action.workspace import confine

if TYPE_CHECKING:
    from github import Github

    from ml_action.registry import Registry


def comment(config: Config, ctx: RunContext, runner: Runner, registry: Registry | None, workdir: Path) -> int:
    """Post a comment file written by an untrusted (fork) run: the trusted ``workflow_run`` half."""
    with runner.group("Post the comment file"):
        url = post_comment_file(config, ctx)
    runner.info(f"comment: {url}")
    runner.set_output("comment-url", url)
    return 0


def post_comment_file(config: Config, ctx: RunContext, path: str | Path | None = None) -> str:
    """``mode: comment``: post the saved comment file (from a fork PR's artifact) as the sticky comment.

    The artifact is untrusted, so only its text and PR number are used: our markers in it are dropped and
    the key comes from this job's ``comment-key``/``model-name``. The PR is ``pr-number`` when set, else
    the number embedded in the file. In a ``workflow_run`` job the PR's head commit must be the run's
    ``head_sha``, so a crafted artifact cannot make us comment on another PR.
    """
    name = str(path) if path is not None else config.comment_file
    file = confine(config.workspace, name, "comment-file")
    if not file.is_file():
        raise UserError(
            "comment-file",
            f"'{name}' does not exist",
            "Download the artifact with the comment file first (actions/download-artifact).",
        )
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(
            "comment-file",
            f"'{name}' cannot be read as UTF-8 text ({type(exc).__name__})",
            "Use the file ml-action wrote.",
        ) from None
    body, embedded = read_comment_file(text)
    pr = config.pr_number or embedded
    if pr is None:
        raise UserError(
            "pr-number",
            "no pull request number was given and the comment file has none",
            "Set `pr-number`, or use the file ml-action wrote in the pull request run.",
        )
    if not config.github_token:
        raise UserError("github-token", "is empty", "Pass `github-token: ${{ github.token }}`.")
    repo = ctx.repository
    if not repo:
        raise UserError("github-token", "GITHUB_REPOSITORY is not set", "Run this mode inside GitHub Actions.")
    key = config.comment_marker_key
    body = fit_comment(body, [], "", key=key).rstrip()
    gh = github_api.client(config.github_token, ctx)
    try:
        _check_head(gh, repo, pr, ctx.workflow_run_head_sha)
        result = github_api.upsert_comment(gh, repo, pr, body, key, config.comment_mode, login=ctx.github_login)
    except github_api.GitHubError as exc:
        if exc.forbidden:
            raise UserError(
                "github-token",
                f"may not comment on pull request #{pr} ({exc.message})",
                "Give the workflow_run job `permissions: pull-requests: write`.",
            ) from None
        if exc.status == 404:
            raise UserError(
                "pr-number", f"pull request #{pr} was not found in {repo}", "Check `pr-number` or the comment file."
            ) from None
        raise
    return result.url or ""


def _check_head(gh: Github, repo: str, pr: int, head_sha: str | None) -> None:
    """In a ``workflow_run`` job the PR's head must be the commit the triggering run evaluated."""
    if not head_sha:
        return
    actual = github_api.pull_head_sha(gh, repo, pr)
    if actual != head_sha:
        raise UserError(
            "pr-number",
            f"pull request #{pr} is at {actual[:12]}, not at {head_sha[:12]} that the triggering run evaluated",
            "A newer push will post its own comment; if the number is wrong, fix `pr-number`.",
        )
