"""The GitHub adapter (PyGithub): the sticky PR comment, the fork-safe comment file, the monitor issue.

What it owns:
- ``client``: a PyGithub client for ``GITHUB_API_URL`` with bounded retries (5xx, secondary rate limits,
  ``Retry-After``) and no client-side throttling.
- ``pr_number_from_event`` / ``run_url``: what the workflow event and run tell us.
- ``fit_comment``: a body under GitHub's 65,536-character limit that never shortens the head or footer.
- ``upsert_comment``: find *our* comment (hidden marker at the start of the body **and** written by us)
  among all the PR's comments and update, recreate or add it; counts its HTTP requests.
- ``post_or_save``: the whole flow for ``evaluate``; it never raises for GitHub trouble, it warns.
- ``post_comment_file``: ``mode: comment`` in the trusted ``workflow_run`` job of the fork pattern.
- ``upsert_issue`` / ``close_issue``: one open issue per key for ``monitor``.

Who are we? ``GET /user`` gives the login for a personal or OAuth token. An installation token (the
Actions ``GITHUB_TOKEN``) may not call it (403), and its comments are written by ``github-actions[bot]``,
so that is the fallback. A token of another GitHub App comments as ``<app>[bot]``; set
``ML_ACTION_GITHUB_LOGIN`` to that login so its comments are recognised.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml_action.errors import UserError
from ml_action.provenance import run_url  # noqa: F401  (re-exported: the comment footer and monitor use it)

if TYPE_CHECKING:
    from github import Github
    from github.Issue import Issue
    from github.IssueComment import IssueComment

    from ml_action.config import Config

DEFAULT_API_URL = "https://api.github.com"
ACTIONS_BOT = "github-actions[bot]"
BODY_LIMIT = 65536
MARGIN = 1000  # characters kept free under the limit (GitHub's count differs slightly from Python's)
PER_PAGE = 100
TIMEOUT = 30
RETRIES = 5
BACKOFF_FACTOR = 0.5  # 0, 1, 2, 4, 8 s; ML_ACTION_GITHUB_BACKOFF overrides (tests set it near 0)
BACKOFF_MAX = 10.0
RETRY_AFTER_MAX = 60  # never sleep longer than this on a Retry-After or rate-limit reset
SHORTENED_NOTE = "> [!NOTE]\n> … details shortened, see the job summary."
NOT_ACCESSIBLE = "Resource not accessible by integration"
_PR_MARKER = re.compile(r"<!-- ml-action:pr=(.*?) -->")


@dataclass(frozen=True)
class CommentResult:
    """What ``upsert_comment`` did: the comment's URL, the action taken and the HTTP requests it made."""

    url: str | None
    action: str  # "created", "updated", "recreated" or "skipped"
    requests: int


# --------------------------------------------------------------------------- client and event


def client(token: str, env: Mapping[str, str]) -> Github:
    """A PyGithub client for ``GITHUB_API_URL`` with bounded retries and no client-side throttling.

    ``GithubRetry`` retries 5xx, and a 403 only when it is a rate limit (``Retry-After`` header or the rate
    limit message); a plain 403 such as "Resource not accessible by integration" is raised at once. urllib3
    honours ``Retry-After`` (also on 429), capped at ``RETRY_AFTER_MAX``; a primary rate limit that resets
    later than that raises instead of sleeping. All verbs are retried: an edit or delete is idempotent, a
    create retried after a 5xx can at worst add a duplicate, which the next ``update`` run leaves alone.
    """
    import github
    from github.GithubRetry import GithubRetry

    raw = env.get("ML_ACTION_GITHUB_BACKOFF") or os.environ.get("ML_ACTION_GITHUB_BACKOFF") or ""
    try:
        backoff = max(0.0, float(raw)) if raw else BACKOFF_FACTOR
    except ValueError:
        backoff = BACKOFF_FACTOR
    retry = GithubRetry(
        total=RETRIES,
        backoff_factor=backoff,
        backoff_max=BACKOFF_MAX,
        retry_after_max=RETRY_AFTER_MAX,
        # a secondary rate limit without Retry-After: 60 s by default, scaled down with the backoff in tests
        secondary_rate_wait=min(RETRY_AFTER_MAX, 120 * backoff),
        max_rate_limit_wait=RETRY_AFTER_MAX,
        status_forcelist=[*range(500, 600), 429],
        allowed_methods=frozenset({"GET", "HEAD", "POST", "PATCH", "PUT", "DELETE"}),
    )
    return github.Github(
        auth=github.Auth.Token(token),
        base_url=(env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
        timeout=TIMEOUT,
        per_page=PER_PAGE,
        retry=retry,
        seconds_between_requests=0,
        seconds_between_writes=0,
        lazy=True,  # get_repo()/get_issue() make no request; only what we use is fetched
    )


def _event(env: Mapping[str, str]) -> dict[str, Any]:
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return payload if isinstance(payload, dict) else {}


def pr_number_from_event(env: Mapping[str, str]) -> int | None:
    """The pull request of this run from the event payload; ``None`` for push, schedule, dispatch.

    ``pull_request``/``pull_request_target`` (and review events): ``pull_request.number``;
    ``issue_comment`` on a PR: ``issue.number``; ``workflow_run``: ``workflow_run.pull_requests[0].number``
    (GitHub leaves that list empty for PRs from forks: the comment file carries the number then).
    """
    payload = _event(env)
    name = env.get("GITHUB_EVENT_NAME", "")
    number: Any = None
    if isinstance(payload.get("pull_request"), dict) and name != "workflow_run":
        number = payload["pull_request"].get("number")
    elif name == "issue_comment" or (not name and isinstance(payload.get("issue"), dict)):
        issue = payload.get("issue") or {}
        number = issue.get("number") if "pull_request" in issue else None
    elif isinstance(payload.get("workflow_run"), dict):
        pulls = payload["workflow_run"].get("pull_requests") or []
        number = pulls[0].get("number") if pulls and isinstance(pulls[0], dict) else None
    return number if isinstance(number, int) and not isinstance(number, bool) and number > 0 else None


# --------------------------------------------------------------------------- the body


def marker(key: str) -> str:
    """The hidden marker that starts our comment or issue body (the key made safe for an HTML comment)."""
    safe = re.sub(r"[^A-Za-z0-9._/:-]+", "_", key.strip()).replace("--", "-_") or "default"
    return f"<!-- ml-action:{safe} -->"


def pr_marker(number: int) -> str:
    return f"<!-- ml-action:pr={number} -->"


def github_length(text: str) -> int:
    """Length as GitHub may count it: UTF-16 code units (an emoji counts 2), never less than ``len``."""
    return len(text.encode("utf-16-le")) // 2


def _close_blocks(text: str) -> str:
    """Close a code fence or ``<details>`` left open by a cut, so the footer still renders."""
    if text.count("```") % 2:
        text += "\n```"
    text += "\n</details>" * max(0, text.count("<details") - text.count("</details>"))
    return text


def _cut(text: str, budget: int) -> str:
    """At most ``budget`` characters of ``text`` (blocks closed), cut at a line end when one is near."""
    size = budget
    while size > 0:
        part = text[:size]
        newline = part.rfind("\n")
        if newline > size // 2:
            part = part[:newline]
        out = _close_blocks(part.rstrip())
        over = github_length(out) - budget
        if over <= 0:
            return out
        size -= over + 16
    return ""


def fit_comment(head: str, details: list[str], footer: str, limit: int = BODY_LIMIT, key: str | None = None) -> str:
    """The comment body: [marker] + head + details + footer, within ``limit`` less a safety margin.

    When too long, details are shortened from the last one backwards (the last kept one may be cut at a
    line, with open code fences and ``<details>`` closed) and a note points to the job summary. The head
    (verdict, comparison table, gates) and the footer (link to the run) are never shortened, unless head and
    footer alone exceed the limit: then the head is cut too, since a 422 would mean no comment at all.
    With ``key`` the marker is put first; ``upsert_comment`` adds it anyway when missing.
    """
    sep = "\n\n"
    budget = max(1000, limit - min(MARGIN, limit // 10))
    top = [marker(key)] if key else []
    full = sep.join([*top, head, *details, footer])
    if github_length(full) <= budget:
        return full
    fixed = github_length(sep.join([*top, head, SHORTENED_NOTE, footer]))
    room = budget - fixed
    if room < 0:  # head + footer alone too long: last resort, cut the head
        cut_head = _cut(head, budget - github_length(sep.join([*top, "", SHORTENED_NOTE, footer])))
        return sep.join([*top, cut_head, SHORTENED_NOTE, footer])
    kept: list[str] = []
    for part in details:
        size = github_length(part) + len(sep)
        if size <= room:
            kept.append(part)
            room -= size
            continue
        cut = _cut(part, room - len(sep))
        if cut.strip():
            kept.append(cut)
        break
    return sep.join([*top, head, *kept, SHORTENED_NOTE, footer])


def _with_marker(body: str, key: str) -> str:
    mark = marker(key)
    return body if body.lstrip().startswith(mark) else f"{mark}\n{body}"


def _is_ours(body: str | None, key: str) -> bool:
    return bool(body) and body.lstrip().startswith(marker(key))  # type: ignore[union-attr]


# --------------------------------------------------------------------------- identity and comments


def identity(gh: Github) -> str:
    """Our login: ``GET /user``; for an installation token (403 there) ``ML_ACTION_GITHUB_LOGIN`` or the
    Actions bot, ``github-actions[bot]``."""
    from github import GithubException

    try:
        return gh.get_user().login
    except GithubException as exc:
        if exc.status in (401, 403):
            return os.environ.get("ML_ACTION_GITHUB_LOGIN") or ACTIONS_BOT
        raise


def _pages(items: int) -> int:
    """Requests to list ``items`` (GitHub fills every page but the last; an empty list is one request)."""
    return max(1, math.ceil(items / PER_PAGE))


def _find_ours(gh: Github, items: list[Any], key: str) -> tuple[list[Any], int]:
    """Ours among ``items`` (marker at the start and our login); the ``/user`` request only if needed."""
    candidates = [c for c in items if _is_ours(c.body, key)]
    if not candidates:
        return [], 0
    login = identity(gh)
    return [c for c in candidates if c.user is not None and c.user.login == login], 1


def upsert_comment(gh: Github, repo_full_name: str, pr_number: int, body: str, key: str,
                   mode: str) -> CommentResult:
    """Make our sticky comment on the PR say ``body``.

    ``update`` edits ours in place (the newest, if there are several) or creates it; ``recreate`` deletes
    ours and creates it anew (at the bottom of the conversation); ``new`` always creates; ``off`` does
    nothing. Ours: the body starts with ``marker(key)`` and we wrote it, so someone quoting the marker is
    never touched. Lists ALL the PR's comments (100 a page, following ``Link``). ``requests`` counts the
    HTTP requests made, retries not included (pages counted from the comments seen: GitHub fills every
    page but the last).
    """
    if mode == "off":
        return CommentResult(None, "skipped", 0)
    if mode not in ("update", "recreate", "new"):
        raise ValueError(f"unknown comment mode {mode!r}")
    body = _with_marker(body, key)
    issue: Issue = gh.get_repo(repo_full_name).get_issue(pr_number)  # lazy: no request
    requests = 0
    ours: list[IssueComment] = []
    if mode != "new":
        comments = list(issue.get_comments())
        requests += _pages(len(comments))
        ours, extra = _find_ours(gh, comments, key)
        requests += extra
    if mode == "update" and ours:
        comment = ours[-1]
        comment.edit(body)
        return CommentResult(comment.html_url, "updated", requests + 1)
    if mode == "recreate":
        for comment in ours:
            comment.delete()
            requests += 1
    created = issue.create_comment(body)
    action = "recreated" if mode == "recreate" and ours else "created"
    return CommentResult(created.html_url, action, requests + 1)


# --------------------------------------------------------------------------- the flows for modes.py


def _footer(env: Mapping[str, str]) -> str:
    url = run_url(env)
    where = f"[workflow run]({url})" if url else "ml-action"
    return f"<sub>Posted by ml-action · {where} · full report in the job summary</sub>"


def _save(config: Config, body: str) -> Path:
    from ml_action.config import confine

    path = confine(config.workspace, config.comment_file, "comment-file")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return path


def _fork_hint(path: Path, config: Config) -> str:
    return (f"The comment was saved to {path.relative_to(config.workspace.resolve())}. For a pull request from a "
            "fork, upload that file as an artifact (actions/upload-artifact) and post it from a `workflow_run` "
            "workflow that runs ml-action with `mode: comment` (see examples/workflows/fork-comment.yml). "
            "For a PR from this repository, give the job `permissions: pull-requests: write`.")


def post_or_save(config: Config, env: Mapping[str, str], head: str, details: list[str],
                 runner_warning: Callable[[str], None]) -> str | None:
    """Post (or update) the sticky PR comment; returns its URL, or ``None`` when nothing was posted.

    No PR (push, schedule) or ``comment-mode: off`` → ``None``. No token, or a token that may not write
    (403, as for fork PRs) → the body goes to ``comment-file`` and ``runner_warning`` says how to post it.
    Other failures after retries → a warning with the reason. GitHub trouble never raises: the job's
    result depends on the gates only. A ``comment-file`` outside the workspace is a ``UserError``.
    """
    pr = config.pr_number or pr_number_from_event(env)
    if config.comment_mode == "off" or pr is None:
        return None
    from github import GithubException  # only now: no PR, no PyGithub import
    from requests import RequestException

    from ml_action.config import confine

    confine(config.workspace, config.comment_file, "comment-file")  # a bad path fails the same way every run
    key = config.comment_marker_key
    body = fit_comment(head, details, _footer(env), key=key).replace(
        marker(key), f"{marker(key)}\n{pr_marker(pr)}", 1)
    repo = env.get("GITHUB_REPOSITORY", "")
    if not config.github_token or not repo:
        path = _save(config, body)
        missing = "`github-token` is empty" if not config.github_token else "GITHUB_REPOSITORY is not set"
        runner_warning(f"The PR comment was not posted: {missing}. {_fork_hint(path, config)}")
        return None
    try:
        result = upsert_comment(client(config.github_token, env), repo, pr, body, key, config.comment_mode)
        return result.url
    except GithubException as exc:
        path = _save(config, body)
        message = _message(exc)
        if exc.status == 403 and not _is_rate_limit(message):
            runner_warning(f"The PR comment was not posted: the token may not write to pull requests "
                           f"({message}). {_fork_hint(path, config)}")
        else:
            runner_warning(f"The PR comment was not posted: GitHub answered {exc.status} ({message}). "
                           f"The comment was saved to {path.relative_to(config.workspace.resolve())}.")
    except RequestException as exc:
        path = _save(config, body)
        runner_warning(f"The PR comment was not posted: {_reason(exc)}. "
                       f"The comment was saved to {path.relative_to(config.workspace.resolve())}.")
    return None


def _message(exc: Any) -> str:
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        text = str(data.get("message") or "")
        errors = data.get("errors") or []
        details = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
        return f"{text}: {details}" if details else text or str(exc)
    return str(data or exc)


def _is_rate_limit(message: str) -> bool:
    lower = message.lower()
    return "rate limit" in lower or lower.endswith("try again.") or lower.endswith("again later.")


def _reason(exc: Exception) -> str:
    text = str(exc)
    match = re.search(r"too many (\d+) error responses", text)
    if match:
        return f"GitHub kept answering {match.group(1)} after {RETRIES} retries"
    return f"the GitHub API could not be reached ({type(exc).__name__})"


def read_comment_file(text: str) -> tuple[str, int | None]:
    """The body without our markers, and the PR number embedded by ``post_or_save`` (``None`` when absent)."""
    found = _PR_MARKER.search(text)
    number: int | None = None
    if found:
        raw = found.group(1)
        if not re.fullmatch(r"[1-9][0-9]{0,9}", raw):
            raise UserError("comment-file", f"the embedded PR number '{raw[:20]}' is not a positive integer",
                            "Use the file written by ml-action, or set `pr-number`.")
        number = int(raw)
    body = _PR_MARKER.sub("", text)
    body = re.sub(r"^\s*(<!-- ml-action:[^>]*-->\s*)+", "", body)
    return body.strip() + "\n", number


def post_comment_file(config: Config, env: Mapping[str, str], path: str | Path | None = None) -> str:
    """``mode: comment``: post the saved comment file (from a fork PR's artifact) as the sticky comment.

    The artifact is untrusted, so only its text and PR number are used: our markers in it are dropped and
    the key comes from this job's ``comment-key``/``model-name``. The PR is ``pr-number`` when set, else
    the number embedded in the file. In a ``workflow_run`` job the PR's head commit must be the run's
    ``head_sha``, so a crafted artifact cannot make us comment on another PR.
    """
    from github import GithubException

    name = str(path) if path is not None else config.comment_file
    from ml_action.config import confine

    file = confine(config.workspace, name, "comment-file")
    if not file.is_file():
        raise UserError("comment-file", f"'{name}' does not exist",
                        "Download the artifact with the comment file first (actions/download-artifact).")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError("comment-file", f"'{name}' cannot be read as UTF-8 text ({type(exc).__name__})",
                        "Use the file ml-action wrote.") from None
    body, embedded = read_comment_file(text)
    pr = config.pr_number or embedded
    if pr is None:
        raise UserError("pr-number", "no pull request number was given and the comment file has none",
                        "Set `pr-number`, or use the file ml-action wrote in the pull request run.")
    if not config.github_token:
        raise UserError("github-token", "is empty", "Pass `github-token: ${{ github.token }}`.")
    repo = env.get("GITHUB_REPOSITORY", "")
    if not repo:
        raise UserError("github-token", "GITHUB_REPOSITORY is not set", "Run this mode inside GitHub Actions.")
    key = config.comment_marker_key
    body = fit_comment(body, [], "", key=key).rstrip()
    gh = client(config.github_token, env)
    try:
        _check_head(gh, repo, pr, env)
        result = upsert_comment(gh, repo, pr, body, key, config.comment_mode)
    except GithubException as exc:
        if exc.status in (401, 403) and not _is_rate_limit(_message(exc)):
            raise UserError("github-token", f"may not comment on pull request #{pr} ({_message(exc)})",
                            "Give the workflow_run job `permissions: pull-requests: write`.") from None
        if exc.status == 404:
            raise UserError("pr-number", f"pull request #{pr} was not found in {repo}",
                            "Check `pr-number` or the comment file.") from None
        raise
    return result.url or ""


def _check_head(gh: Github, repo: str, pr: int, env: Mapping[str, str]) -> None:
    run = _event(env).get("workflow_run")
    head_sha = run.get("head_sha") if isinstance(run, dict) else None
    if not head_sha:
        return
    actual = gh.get_repo(repo).get_pull(pr).head.sha
    if actual != head_sha:
        raise UserError("pr-number", f"pull request #{pr} is at {actual[:12]}, not at {head_sha[:12]} that the "
                                     "triggering run evaluated",
                        "A newer push will post its own comment; if the number is wrong, fix `pr-number`.")


# --------------------------------------------------------------------------- monitor issues


def _find_issue(gh: Github, repo_full_name: str, key: str) -> Issue | None:
    issues = list(gh.get_repo(repo_full_name).get_issues(state="open"))  # PRs too: dropped by their URL
    ours, _ = _find_ours(gh, [i for i in issues if _is_ours(i.body, key) and "/pull/" not in i.html_url], key)
    return ours[0] if ours else None


def upsert_issue(gh: Github, repo: str, key: str, title: str, body: str, create: bool = True) -> str | None:
    """Update our open issue for ``key`` (marker at the start of the body, opened by us) or open one
    (unless ``create`` is false: then ``None`` when there is none)."""
    body = _with_marker(body, key)
    issue = _find_issue(gh, repo, key)
    if issue is not None:
        issue.edit(title=title, body=body)
        return issue.html_url
    if not create:
        return None
    return gh.get_repo(repo).create_issue(title=title, body=body).html_url


def close_issue(gh: Github, repo: str, key: str, comment: str) -> bool:
    """Comment on and close our open issue for ``key``; ``False`` when there is none."""
    issue = _find_issue(gh, repo, key)
    if issue is None:
        return False
    if comment:
        issue.create_comment(comment)
    issue.edit(state="closed", state_reason="completed")
    return True
