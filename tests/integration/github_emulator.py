"""A small in-memory GitHub REST API emulator, served over real HTTP on 127.0.0.1, for integration tests.

It serves exactly what ``ml_action.github`` calls through PyGithub: the repository, ``/user``, a pull
request's issue comments (paginated with a correct ``Link`` header), comment edit/delete, pull requests,
and issues (list/create/update/comment) for monitor mode. Tokens map to identities; faults (5xx, secondary
rate limits, 429) can be queued per test; bodies over 65,536 characters answer 422 as GitHub does.
Every request is counted per method and path. PyGithub is pointed at it only through ``GITHUB_API_URL``.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

BODY_LIMIT = 65536
NOT_ACCESSIBLE = "Resource not accessible by integration"
SECONDARY = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
TIMESTAMP = "2024-05-01T12:00:00Z"


@dataclass(frozen=True)
class Identity:
    """Who a token authenticates as; ``can_get_user`` is False for installation tokens (``GET /user`` is 403)."""

    login: str
    id: int
    type: str = "User"
    can_get_user: bool = True
    can_write: bool = True

    def json(self) -> dict[str, Any]:
        return {"login": self.login, "id": self.id, "node_id": f"U_{self.id}", "type": self.type, "site_admin": False}


ACTIONS_BOT = Identity("github-actions[bot]", 41898282, "Bot", can_get_user=False)
DEFAULT_TOKENS: dict[str, Identity] = {
    "ghs_actions": ACTIONS_BOT,
    "ghs_readonly": Identity("github-actions[bot]", 41898282, "Bot", can_get_user=False, can_write=False),
    "ghp_person": Identity("octocat", 583231),
    "ghp_other": Identity("someone-else", 1234567),
}


@dataclass
class Fault:
    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class State:
    """Everything the emulator stores; tests may read and seed it directly."""

    comments: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> comment (with "_issue", "_repo")
    issues: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)  # (repo, number) -> issue/PR
    pr_heads: dict[tuple[str, int], str] = field(default_factory=dict)  # (repo, number) -> head sha


class GitHubEmulator:
    """The server: start it, seed state, point ``GITHUB_API_URL`` at ``url``, inspect ``requests``."""

    def __init__(self, tokens: dict[str, Identity] | None = None) -> None:
        self.tokens = dict(DEFAULT_TOKENS if tokens is None else tokens)
        self.state = State()
        self.requests: Counter[tuple[str, str]] = Counter()
        self.log: list[tuple[str, str, int]] = []
        self.faults: list[Fault] = []
        self._ids = itertools.count(1000)
        self._lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    # ------------------------------------------------------------------ lifecycle and test helpers

    def start(self) -> GitHubEmulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def total_requests(self) -> int:
        return sum(self.requests.values())

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()
            self.log.clear()

    def fail_next(self, n: int, status: int = 502) -> None:
        """The next ``n`` requests answer ``status`` (a server error by default)."""
        self.faults.extend(Fault(status, "Server Error") for _ in range(n))

    def secondary_rate_limit(self, n: int = 1, retry_after: int | None = 1) -> None:
        """The next ``n`` requests answer 403 with the secondary rate limit message (and ``Retry-After``)."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        self.faults.extend(Fault(403, SECONDARY, dict(headers)) for _ in range(n))

    def too_many_requests(self, n: int = 1, retry_after: int = 1) -> None:
        self.faults.extend(Fault(429, "Too Many Requests", {"Retry-After": str(retry_after)}) for _ in range(n))

    def add_pull(self, repo: str, number: int, head_sha: str = "a" * 40, author: str = "contributor") -> None:
        with self._lock:
            issue = self._new_issue(repo, number, f"PR {number}", "", Identity(author, 99), pull=True)
            self.state.issues[(repo, number)] = issue
            self.state.pr_heads[(repo, number)] = head_sha

    def add_comment(self, repo: str, number: int, body: str, author: Identity) -> dict[str, Any]:
        with self._lock:
            comment = self._new_comment(repo, number, body, author)
            self.state.comments[comment["id"]] = comment
            return comment

    def comments_on(self, repo: str, number: int) -> list[dict[str, Any]]:
        return [c for c in self.state.comments.values() if c["_repo"] == repo and c["_issue"] == number]

    def issues_in(self, repo: str, pulls: bool = False) -> list[dict[str, Any]]:
        return [i for (r, _), i in self.state.issues.items() if r == repo and ("pull_request" in i) == pulls]

    # ------------------------------------------------------------------ object builders

    def _repo_json(self, full: str) -> dict[str, Any]:
        owner, name = full.split("/")
        return {
            "id": 1,
            "node_id": "R_1",
            "name": name,
            "full_name": full,
            "private": False,
            "owner": {"login": owner, "id": 2, "type": "Organization"},
            "url": f"{self.url}/repos/{full}",
            "html_url": f"https://github.com/{full}",
            "default_branch": "main",
        }

    def _new_comment(self, repo: str, number: int, body: str, author: Identity) -> dict[str, Any]:
        cid = next(self._ids)
        return {
            "id": cid,
            "node_id": f"IC_{cid}",
            "url": f"{self.url}/repos/{repo}/issues/comments/{cid}",
            "html_url": f"https://github.com/{repo}/pull/{number}#issuecomment-{cid}",
            "issue_url": f"{self.url}/repos/{repo}/issues/{number}",
            "body": body,
            "user": author.json(),
            "author_association": "NONE",
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
            "_repo": repo,
            "_issue": number,
        }

    def _new_issue(
        self, repo: str, number: int, title: str, body: str, author: Identity, pull: bool = False
    ) -> dict[str, Any]:
        kind = "pull" if pull else "issues"
        issue: dict[str, Any] = {
            "id": 50000 + number,
            "node_id": f"I_{number}",
            "number": number,
            "title": title,
            "body": body,
            "state": "open",
            "state_reason": None,
            "user": author.json(),
            "labels": [],
            "comments": 0,
            "url": f"{self.url}/repos/{repo}/issues/{number}",
            "html_url": f"https://github.com/{repo}/{kind}/{number}",
            "repository_url": f"{self.url}/repos/{repo}",
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
            "closed_at": None,
        }
        if pull:
            issue["pull_request"] = {"url": f"{self.url}/repos/{repo}/pulls/{number}"}
        return issue

    # ------------------------------------------------------------------ request handling

    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict, Any]:
        split = urlsplit(target)
        path = split.path.rstrip("/")
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        with self._lock:
            self.requests[(method, path)] += 1
            if self.faults:
                fault = self.faults.pop(0)
                return fault.status, fault.headers, {"message": fault.message}
        auth = headers.get("authorization", "")
        token = auth.split(" ", 1)[1] if " " in auth else ""
        who = self.tokens.get(token)
        if who is None:
            return 401, {}, {"message": "Bad credentials"}
        try:
            payload = json.loads(raw) if raw else {}
        except ValueError:
            return 400, {}, {"message": "Problems parsing JSON"}
        if method != "GET" and not who.can_write:
            return 403, {}, {"message": NOT_ACCESSIBLE}
        body = payload.get("body") if isinstance(payload, dict) else None
        if isinstance(body, str) and len(body) > BODY_LIMIT:
            return (
                422,
                {},
                {
                    "message": "Validation Failed",
                    "errors": [
                        {
                            "resource": "IssueComment",
                            "code": "custom",
                            "field": "body",
                            "message": f"body is too long (maximum is {BODY_LIMIT} characters)",
                        }
                    ],
                },
            )
        with self._lock:
            for pattern, verb, route in self._routes():
                match = re.fullmatch(pattern, path)
                if match and verb == method:
                    return route(who, query, payload, *match.groups())
        return 404, {}, {"message": "Not Found"}

    def _routes(self) -> list[tuple[str, str, Callable[..., tuple[int, dict, Any]]]]:
        repo = r"/repos/([^/]+/[^/]+)"
        return [
            (r"/user", "GET", self._get_user),
            (repo, "GET", lambda who, q, p, full: (200, {}, self._repo_json(full))),
            (repo + r"/issues", "GET", self._list_issues),
            (repo + r"/issues", "POST", self._create_issue),
            (repo + r"/issues/(\d+)", "GET", self._get_issue),
            (repo + r"/issues/(\d+)", "PATCH", self._edit_issue),
            (repo + r"/issues/(\d+)/comments", "GET", self._list_comments),
            (repo + r"/issues/(\d+)/comments", "POST", self._create_comment),
            (repo + r"/issues/comments/(\d+)", "GET", self._get_comment),
            (repo + r"/issues/comments/(\d+)", "PATCH", self._edit_comment),
            (repo + r"/issues/comments/(\d+)", "DELETE", self._delete_comment),
            (repo + r"/pulls/(\d+)", "GET", self._get_pull),
        ]

    def _get_user(self, who: Identity, query: dict, payload: Any) -> tuple[int, dict, Any]:
        if not who.can_get_user:
            return 403, {}, {"message": NOT_ACCESSIBLE}
        return 200, {}, who.json()

    def _page(self, items: list[dict[str, Any]], path: str, query: dict) -> tuple[int, dict, Any]:
        per_page = max(1, min(100, int(query.get("per_page", 30))))
        page = max(1, int(query.get("page", 1)))
        last = max(1, -(-len(items) // per_page))
        rest = {k: v for k, v in query.items() if k not in ("page", "per_page")}
        extra = "".join(f"&{k}={v}" for k, v in sorted(rest.items()))

        def link(n: int, rel: str) -> str:
            return f'<{self.url}{path}?per_page={per_page}&page={n}{extra}>; rel="{rel}"'

        links = []
        if page > 1:
            links += [link(page - 1, "prev"), link(1, "first")]
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        headers = {"Link": ", ".join(links)} if links else {}
        chunk = items[(page - 1) * per_page : page * per_page]
        return 200, headers, [_public(i) for i in chunk]

    def _list_comments(self, who: Identity, query: dict, payload: Any, full: str, number: str) -> tuple:
        if (full, int(number)) not in self.state.issues:
            return 404, {}, {"message": "Not Found"}
        items = sorted(self.comments_on(full, int(number)), key=lambda c: c["id"])
        return self._page(items, f"/repos/{full}/issues/{number}/comments", query)

    def _create_comment(self, who: Identity, query: dict, payload: Any, full: str, number: str) -> tuple:
        if (full, int(number)) not in self.state.issues:
            return 404, {}, {"message": "Not Found"}
        if not isinstance(payload.get("body"), str):
            return 422, {}, {"message": 'Invalid request.\n\n"body" wasn\'t supplied.'}
        comment = self._new_comment(full, int(number), payload["body"], who)
        self.state.comments[comment["id"]] = comment
        return 201, {}, _public(comment)

    def _own_comment(self, full: str, cid: str) -> dict[str, Any] | None:
        comment = self.state.comments.get(int(cid))
        return comment if comment and comment["_repo"] == full else None

    def _get_comment(self, who: Identity, query: dict, payload: Any, full: str, cid: str) -> tuple:
        comment = self._own_comment(full, cid)
        return (200, {}, _public(comment)) if comment else (404, {}, {"message": "Not Found"})

    def _edit_comment(self, who: Identity, query: dict, payload: Any, full: str, cid: str) -> tuple:
        comment = self._own_comment(full, cid)
        if comment is None:
            return 404, {}, {"message": "Not Found"}
        if comment["user"]["login"] != who.login:
            return 403, {}, {"message": NOT_ACCESSIBLE}
        comment["body"] = payload.get("body", comment["body"])
        comment["updated_at"] = "2024-05-02T12:00:00Z"
        return 200, {}, _public(comment)

    def _delete_comment(self, who: Identity, query: dict, payload: Any, full: str, cid: str) -> tuple:
        comment = self._own_comment(full, cid)
        if comment is None:
            return 404, {}, {"message": "Not Found"}
        if comment["user"]["login"] != who.login:
            return 403, {}, {"message": NOT_ACCESSIBLE}
        del self.state.comments[comment["id"]]
        return 204, {}, None

    def _get_pull(self, who: Identity, query: dict, payload: Any, full: str, number: str) -> tuple:
        issue = self.state.issues.get((full, int(number)))
        if issue is None or "pull_request" not in issue:
            return 404, {}, {"message": "Not Found"}
        pull = {k: v for k, v in issue.items() if k != "pull_request"}
        pull.update(
            {
                "url": f"{self.url}/repos/{full}/pulls/{number}",
                "merged": False,
                "head": {"sha": self.state.pr_heads[(full, int(number))], "ref": "feature", "label": "x:feature"},
                "base": {"sha": "b" * 40, "ref": "main", "label": "o:main"},
            }
        )
        return 200, {}, pull

    def _list_issues(self, who: Identity, query: dict, payload: Any, full: str) -> tuple:
        state = query.get("state", "open")
        items = [
            i
            for (r, _), i in sorted(self.state.issues.items())
            if r == full and (state == "all" or i["state"] == state)
        ]
        return self._page(items, f"/repos/{full}/issues", query)

    def _create_issue(self, who: Identity, query: dict, payload: Any, full: str) -> tuple:
        if not payload.get("title"):
            return 422, {}, {"message": "Validation Failed"}
        number = 1 + max((n for (r, n) in self.state.issues if r == full), default=0)
        issue = self._new_issue(full, number, payload["title"], payload.get("body") or "", who)
        self.state.issues[(full, number)] = issue
        return 201, {}, issue

    def _get_issue(self, who: Identity, query: dict, payload: Any, full: str, number: str) -> tuple:
        issue = self.state.issues.get((full, int(number)))
        return (200, {}, issue) if issue else (404, {}, {"message": "Not Found"})

    def _edit_issue(self, who: Identity, query: dict, payload: Any, full: str, number: str) -> tuple:
        issue = self.state.issues.get((full, int(number)))
        if issue is None:
            return 404, {}, {"message": "Not Found"}
        for key in ("title", "body", "state", "state_reason"):
            if key in payload:
                issue[key] = payload[key]
        issue["closed_at"] = TIMESTAMP if issue["state"] == "closed" else None
        return 200, {}, issue


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def _handler(emulator: GitHubEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, payload = emulator.handle(self.command, self.path, headers, raw)
            emulator.log.append((self.command, self.path, status))
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    return Handler


def github_api_fixture(name: str = "github_api") -> Callable[..., Iterator[GitHubEmulator]]:
    """A pytest fixture factory: a running emulator, ``GITHUB_API_URL`` pointing at it, fast retries."""
    import pytest

    @pytest.fixture(name=name)
    def fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubEmulator]:
        emulator = GitHubEmulator().start()
        monkeypatch.setenv("GITHUB_API_URL", emulator.url)
        monkeypatch.setenv("ML_ACTION_GITHUB_BACKOFF", "0.01")
        try:
            yield emulator
        finally:
            emulator.stop()

    return fixture
