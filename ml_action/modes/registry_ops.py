"""``mode: rollback``, ``mode: list`` and ``mode: comment``: the registry and the PR comment, no training.

``rollback`` re-points the champion; ``list`` shows what the registry holds; ``comment`` posts a comment
file written by an untrusted (fork) run, in the trusted ``workflow_run`` job.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml_action import github_api
from ml_action.comment import fit_comment, read_comment_file
from ml_action.config import Config
from ml_action.context import RunContext
from ml_action.errors import UserError
from ml_action.registry import Registry, model_sha256
from ml_action.runner import Runner
from ml_action.workspace import confine

if TYPE_CHECKING:
    from github import Github


def rollback(config: Config, ctx: RunContext, runner: Runner, registry: Registry | None, workdir: Path) -> int:
    """Re-point the champion to ``to-version`` (an id or ``previous``) after verifying its artifacts."""
    from ml_action.provenance import actor

    assert registry is not None, "cli opens the registry for this mode"
    wanted = config.to_version or "previous"
    with runner.group(f"Roll back to {wanted}"):
        before, _ = registry.champion()
        target = registry.resolve_version(wanted)
        registry.verify_version(target, workdir)
        manifest = registry.manifest(target)
        old = before.get("version") if before else None
        if old == target:
            raise UserError("to-version", f"{target} is already the champion", "Name another version.")

        def decide(current: dict[str, Any] | None) -> tuple[bool, str]:
            now = current.get("version") if current else None
            if now != old:
                return False, f"the champion changed to {now} while rolling back; run the rollback again"
            return True, ""

        sha = model_sha256(manifest, target)
        promotion = registry.swap_champion(
            target, sha, actor(ctx), "rollback", decide, details={"run_id": ctx.run_id or None}
        )
    if not promotion.promoted:
        raise UserError("to-version", promotion.reason, "Check `mode: list` and try again.")
    text = f"Rolled back `{config.model_name}`: champion `{old}` → `{target}`."
    runner.notice(text, title="rollback")
    runner.summary(f"## ⏪ ml-action · rollback\n\n{text}\n")
    runner.set_output("champion-version", target)
    runner.set_output("model-version", target)
    runner.set_output("promoted", True)
    return 0


def list_versions(config: Config, ctx: RunContext, runner: Runner, registry: Registry | None, workdir: Path) -> int:
    """The versions with their primary metric, date and git sha; which one is champion."""
    assert registry is not None, "cli opens the registry for this mode"
    champion, _ = registry.champion()
    current = champion.get("version") if champion else None
    named: dict[str, list[str]] = {}  # version -> the aliases pointing at it (besides champion)
    for name, pointer in registry.aliases(on_damage=lambda problem: runner.warning(problem, title="registry")).items():
        named.setdefault(pointer["version"], []).append(name)
    rows: list[dict[str, Any]] = []
    for version in registry.versions():
        manifest, damage = registry.try_manifest(version)
        if manifest is None:  # a damaged manifest is shown as such; the other versions are still listed
            runner.warning(damage, title="registry")
            rows.append(
                {
                    "version": version,
                    "champion": version == current,
                    "aliases": named.get(version, []),
                    "created_at": None,
                    "git_sha": None,
                    "primary_metric": "⚠ damaged",
                    "value": None,
                    "damaged": damage,
                }
            )
            continue
        primary = manifest.get("primary_metric")
        rows.append(
            {
                "version": version,
                "champion": version == current,
                "aliases": named.get(version, []),
                "created_at": manifest.get("created_at"),
                "git_sha": (manifest.get("git") or {}).get("sha"),
                "primary_metric": primary,
                "value": (manifest.get("metrics") or {}).get(primary),
            }
        )
    lines = [
        f"## ml-action · versions of `{config.model_name}`",
        "",
        "| version | champion | aliases | primary metric | value | created | git sha |",
        "| --- | :---: | --- | --- | ---: | --- | --- |",
    ]
    for r in reversed(rows):
        value = f"{r['value']:.4f}" if isinstance(r["value"], (int, float)) else "—"
        tags = " ".join(f"`{a}`" for a in r["aliases"])  # names passed ALIAS_RE: no Markdown in them
        lines.append(
            f"| `{r['version']}` | {'★' if r['champion'] else ''} | {tags} | {r['primary_metric'] or '—'} | "
            f"{value} | {r['created_at'] or '—'} | {(r['git_sha'] or '—')[:12]} |"
        )
    if not rows:
        lines.append("| _none yet_ | | | | | | |")
    table = "\n".join(lines)
    runner.markdown(table)
    runner.summary(table)
    runner.set_output("versions", json.dumps(rows))
    runner.set_output("champion-version", current or "")
    return 0


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
