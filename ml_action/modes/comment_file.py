"""``mode: comment``: the trusted ``workflow_run`` half of a fork pull request. The fork's run (no secrets,
a read-only token) cannot comment; it leaves its result bundle (``result-dir``), which this mode reads from
``results``, verifies (``bundle.read``) and judges again (``board.rank``: metrics recomputed from the bundle's
predictions, the champion re-scored now on its holdout rows, this job's gates), then renders the comment
itself with the evaluation's templates (``bundle_report``) and posts it. No text written by the pull
request's code is posted as it is: a forged mention, link, HTML or "all gates pass" cannot be in the comment.

The older path, posting a saved ``comment-file`` verbatim, is kept only for a run whose head repository is
this repository (its authors can write here anyway); for a fork, or a run whose origin is unknown, it is
refused. The text of a comment (markers, fitting under GitHub's limit) is ``ml_action.report.comment``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml_action.adapters import github_api
from ml_action.adapters.runner import Runner
from ml_action.config import Config
from ml_action.context import RunContext
from ml_action.errors import UserError
from ml_action.report.comment import fit_comment, read_comment_file
from ml_action.workspace import confine

if TYPE_CHECKING:
    from github import Github

    from ml_action.adapters.registry import Registry

_FORK_HINT = (
    "Upload the pull request run's result bundle (its `result-dir`, default `ml-action-result/`) instead of "
    "the comment file, and set `results` to the folder it was downloaded to (see "
    "examples/workflows/fork-comment.yml): ml-action then renders the comment itself."
)


def comment(config: Config, ctx: RunContext, runner: Runner, registry: Registry | None, workdir: Path) -> int:
    """Post the comment for an untrusted (fork) pull-request run: the trusted ``workflow_run`` half."""
    if config.results:
        url = post_results(config, ctx, runner, registry, workdir)
    else:
        with runner.group("Post the comment file"):
            url = post_comment_file(config, ctx)
    runner.info(f"comment: {url}")
    runner.set_output("comment-url", url)
    return 0


def post_results(config: Config, ctx: RunContext, runner: Runner, registry: Registry | None, workdir: Path) -> str:
    """Judge the one result bundle under ``results`` again, render the comment from it and post it."""
    from ml_action.adapters.posting import check_targets, write_report
    from ml_action.pipeline import board as judged
    from ml_action.report.bundle_report import context
    from ml_action.report.markdown import ReportParts, comment_footer, render

    check_targets(config)
    with runner.group("Read the result bundle"):
        bundles = judged.read_all(config, "comment")
        if len(bundles) > 1:
            raise UserError(
                "results",
                f"folder '{config.results}' holds {len(bundles)} result bundles; `mode: comment` posts one",
                "Download one run's `result-dir`, or rank several with `mode: leaderboard`.",
            )
        (found,) = bundles
        pr = config.pr_number or _recorded_pr(found.manifest.get("pull_request"))
    ranked = judged.rank(config, runner, registry, bundles, workdir, judged.bundled_holdout(found))
    shown = context(config.model_name, ranked, config.on_inconclusive)
    head, details = render("head.md.j2", **shown), [render("bundle.md.j2", **shown)]
    write_report(config, ctx, runner, ReportParts(head=head, details=details))
    entry = ranked.entries[0]
    runner.set_output("verdict", entry.verdict.word)
    runner.set_output("primary-metric", ranked.primary)
    value = entry.metrics.get(ranked.primary)
    runner.set_output("primary-metric-value", "" if value is None else f"{value:.6g}")
    key = config.comment_marker_key
    body = fit_comment(runner.redact(head), [runner.redact(d) for d in details], comment_footer(ctx), key=key)
    with runner.group("Post the comment"):
        return _post(config, ctx, _need_pr(pr, "the result bundle"), body.rstrip(), "the result bundle")


def _recorded_pr(value: Any) -> int | None:
    """The pull request the bundle's run was for: a positive integer, else none (then `pr-number` is needed)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10**10:
        return value
    return None


def post_comment_file(config: Config, ctx: RunContext, path: str | Path | None = None) -> str:
    """``mode: comment`` without ``results``: post a saved comment file as the sticky comment, for a run from
    this repository only (a fork's text is never posted; see the module docstring).

    The file is untrusted, so only its text and PR number are used: our markers in it are dropped and
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
    pr = _need_pr(config.pr_number or embedded, "the comment file")
    _same_repository(ctx)
    key = config.comment_marker_key
    return _post(config, ctx, pr, fit_comment(body, [], "", key=key).rstrip(), "the comment file")


def _same_repository(ctx: RunContext) -> None:
    """A comment file is posted only when the triggering run's head repository is this repository."""
    head = ctx.workflow_run_head_repository
    if ctx.event_name == "workflow_run" and head and ctx.repository and head.lower() == ctx.repository.lower():
        return
    origin = (
        f"a pull request from the fork {_name(head)}"
        if head
        else "a run whose origin is unknown (not a `workflow_run` event naming its head repository)"
    )
    raise UserError(
        "comment-file", f"was written by {origin}: `mode: comment` never posts a fork's text as it is", _FORK_HINT
    )


def _name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._/-]", "?", text)[:140]


def _need_pr(pr: int | None, source: str) -> int:
    if pr is None:
        raise UserError(
            "pr-number",
            f"no pull request number was given and {source} has none",
            "Set `pr-number`, or use what ml-action wrote in the pull request run.",
        )
    return pr


def _post(config: Config, ctx: RunContext, pr: int, body: str, source: str) -> str:
    if not config.github_token:
        raise UserError("github-token", "is empty", "Pass `github-token: ${{ github.token }}`.")
    repo = ctx.repository
    if not repo:
        raise UserError("github-token", "GITHUB_REPOSITORY is not set", "Run this mode inside GitHub Actions.")
    key = config.comment_marker_key
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
                "pr-number", f"pull request #{pr} was not found in {repo}", f"Check `pr-number` or {source}."
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
