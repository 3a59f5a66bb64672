"""The GitHub API adapter (PyGithub): a client with bounded retries, the sticky PR comment, the monitor issue
and the PR head lookup. Every failure reaches the caller as one typed ``GitHubError``; what to do about it
(save the comment to a file, warn, fail) is the modes' decision.

Who are we? ``GET /user`` gives the login for a personal or OAuth token. An installation token (the
Actions ``GITHUB_TOKEN``) may not call it (403), and its comments are written by ``github-actions[bot]``,
so that is the fallback. A token of another GitHub App comments as ``<app>[bot]``; set
``ML_ACTION_GITHUB_LOGIN`` to that login (``RunContext.github_login``, passed as ``login``).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from ml_action.context import RunContext
from ml_action.report.comment import is_ours, with_marker

if TYPE_CHECKING:
    from github import Github
    from github.Issue import Issue
    from github.IssueComment import IssueComment

ACTIONS_BOT = "github-actions[bot]"
PER_PAGE = 100
TIMEOUT = 30
RETRIES = 5
BACKOFF_FACTOR = 0.5  # 0, 1, 2, 4, 8 s; ML_ACTION_GITHUB_BACKOFF overrides (tests set it near 0)
BACKOFF_MAX = 10.0
RETRY_AFTER_MAX = 60  # never sleep longer than this on a Retry-After or rate-limit reset

P = ParamSpec("P")
T = TypeVar("T")


class GitHubError(Exception):
    """GitHub said no (``status``, its message) or could not be reached (``status`` is ``None``)."""

    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    @property
    def rate_limited(self) -> bool:
        lower = self.message.lower()
        return "rate limit" in lower or lower.endswith("try again.") or lower.endswith("again later.")

    @property
    def forbidden(self) -> bool:
        """A 401/403 that is not a rate limit: the token may not do this."""
        return self.status in (401, 403) and not self.rate_limited


def _typed(func: Callable[P, T]) -> Callable[P, T]:
    """Turn PyGithub's and requests' exceptions into ``GitHubError``."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        from github import GithubException
        from requests import RequestException

        try:
            return func(*args, **kwargs)
        except GithubException as exc:
            raise GitHubError(exc.status, _message(exc)) from exc
        except RequestException as exc:
            raise GitHubError(None, _reason(exc)) from exc

    return wrapper


@dataclass(frozen=True)
class CommentResult:
    """What ``upsert_comment`` did: the comment's URL, the action taken and the HTTP requests it made."""

    url: str | None
    action: str  # "created", "updated", "recreated" or "skipped"
    requests: int


def client(token: str, ctx: RunContext) -> Github:
    """A PyGithub client for ``GITHUB_API_URL`` with bounded retries and no client-side throttling.

    ``GithubRetry`` retries 5xx, and a 403 only when it is a rate limit (``Retry-After`` header or the rate
    limit message); a plain 403 such as "Resource not accessible by integration" is raised at once. urllib3
    honours ``Retry-After`` (also on 429), capped at ``RETRY_AFTER_MAX``; a primary rate limit that resets
    later than that raises instead of sleeping. All verbs are retried: an edit or delete is idempotent, a
    create retried after a 5xx can at worst add a duplicate, which the next ``update`` run leaves alone.
    """
    import github
    from github.GithubRetry import GithubRetry

    backoff = BACKOFF_FACTOR if ctx.github_backoff is None else ctx.github_backoff
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
        base_url=ctx.api_url,
        timeout=TIMEOUT,
        per_page=PER_PAGE,
        retry=retry,
        seconds_between_requests=0,
        seconds_between_writes=0,
        lazy=True,  # get_repo()/get_issue() make no request; only what we use is fetched
    )


def identity(gh: Github, login: str | None = None) -> str:
    """Our login: ``GET /user``; for an installation token (403 there) ``login`` (``ML_ACTION_GITHUB_LOGIN``)
    or the Actions bot, ``github-actions[bot]``."""
    from github import GithubException

    try:
        return gh.get_user().login
    except GithubException as exc:
        if exc.status in (401, 403):
            return login or ACTIONS_BOT
        raise


def _pages(items: int) -> int:
    """Requests to list ``items`` (GitHub fills every page but the last; an empty list is one request)."""
    return max(1, math.ceil(items / PER_PAGE))


def _find_ours(gh: Github, items: list[Any], key: str, login: str | None) -> tuple[list[Any], int]:
    """Ours among ``items`` (marker at the start and our login); the ``/user`` request only if needed."""
    candidates = [c for c in items if is_ours(c.body, key)]
    if not candidates:
        return [], 0
    me = identity(gh, login)
    return [c for c in candidates if c.user is not None and c.user.login == me], 1


@_typed
def upsert_comment(
    gh: Github, repo_full_name: str, pr_number: int, body: str, key: str, mode: str, login: str | None = None
) -> CommentResult:
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
    body = with_marker(body, key)
    issue: Issue = gh.get_repo(repo_full_name).get_issue(pr_number)  # lazy: no request
    requests = 0
    ours: list[IssueComment] = []
    if mode != "new":
        comments = list(issue.get_comments())
        requests += _pages(len(comments))
        ours, extra = _find_ours(gh, comments, key, login)
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


def _find_issue(gh: Github, repo_full_name: str, key: str, login: str | None) -> Issue | None:
    issues = list(gh.get_repo(repo_full_name).get_issues(state="open"))  # PRs too: dropped by their URL
    ours, _ = _find_ours(gh, [i for i in issues if is_ours(i.body, key) and "/pull/" not in i.html_url], key, login)
    return ours[0] if ours else None


@_typed
def upsert_issue(
    gh: Github, repo: str, key: str, title: str, body: str, login: str | None = None, create: bool = True
) -> str | None:
    """Update our open issue for ``key`` (marker at the start of the body, opened by us) or open one
    (unless ``create`` is false: then ``None`` when there is none)."""
    body = with_marker(body, key)
    issue = _find_issue(gh, repo, key, login)
    if issue is not None:
        issue.edit(title=title, body=body)
        return issue.html_url
    if not create:
        return None
    return gh.get_repo(repo).create_issue(title=title, body=body).html_url


@_typed
def close_issue(gh: Github, repo: str, key: str, comment: str, login: str | None = None) -> bool:
    """Comment on and close our open issue for ``key``; ``False`` when there is none."""
    issue = _find_issue(gh, repo, key, login)
    if issue is None:
        return False
    if comment:
        issue.create_comment(comment)
    issue.edit(state="closed", state_reason="completed")
    return True


@_typed
def pull_head_sha(gh: Github, repo: str, pr: int) -> str:
    """The head commit of pull request ``pr``."""
    return str(gh.get_repo(repo).get_pull(pr).head.sha)


def _message(exc: Any) -> str:
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        text = str(data.get("message") or "")
        errors = data.get("errors") or []
        details = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
        return f"{text}: {details}" if details else text or str(exc)
    return str(data or exc)


def _reason(exc: Exception) -> str:
    text = str(exc)
    match = re.search(r"too many (\d+) error responses", text)
    if match:
        return f"GitHub kept answering {match.group(1)} after {RETRIES} retries"
    return f"the GitHub API could not be reached ({type(exc).__name__})"
