"""The run context: what the GitHub Actions runtime tells us about this run, read ONCE from the environment.

``cli`` builds one frozen ``RunContext`` from the environment mapping it was given (and parses the event
JSON once); modes, the runner, the GitHub adapter and provenance receive it instead of reading variables.
Outside Actions every field has a harmless default (no repository, no run URL, no output files).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

DEFAULT_SERVER_URL = "https://github.com"
DEFAULT_API_URL = "https://api.github.com"


@dataclass(frozen=True)
class RunContext:
    """The run as the runtime describes it; built by ``from_env``, never changed afterwards."""

    event_name: str = ""
    repository: str = ""
    sha: str = ""
    ref: str = ""
    run_id: str = ""
    run_attempt: str = ""
    workflow: str = ""
    actor: str = ""
    server_url: str = DEFAULT_SERVER_URL
    api_url: str = DEFAULT_API_URL
    github_actions: bool = False
    output_path: str = ""  # GITHUB_OUTPUT
    summary_path: str = ""  # GITHUB_STEP_SUMMARY
    has_token: bool = False
    # from the event payload
    default_branch: str | None = None
    pr_number: int | None = None
    workflow_run_head_sha: str | None = None  # the head commit a ``workflow_run`` event evaluated
    workflow_run_head_repository: str | None = None  # ``owner/name`` it came from: another one for a fork
    # test and operator knobs
    github_backoff: float | None = None  # ML_ACTION_GITHUB_BACKOFF: retry backoff factor (tests set ~0)
    github_login: str | None = None  # ML_ACTION_GITHUB_LOGIN: our login when GET /user is forbidden
    dask_scheduler: str = ""  # DASK_SCHEDULER_ADDRESS: the default of the `dask-scheduler` input, as Dask names it
    # the AWS_* variables, for the S3 client (endpoint, region, static keys); boto3's chain does the rest
    aws_env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def run_url(self) -> str | None:
        """``server/repository/actions/runs/run_id``, or ``None`` outside Actions."""
        if not self.repository or not self.run_id:
            return None
        return f"{self.server_url.rstrip('/')}/{self.repository}/actions/runs/{self.run_id}"

    @classmethod
    def from_env(cls, env: Mapping[str, str], has_token: bool = False) -> RunContext:
        """Read the ``GITHUB_*`` variables and the event payload (``GITHUB_EVENT_PATH``) once."""
        event_name = env.get("GITHUB_EVENT_NAME", "")
        payload = read_event(env.get("GITHUB_EVENT_PATH"))
        run = payload.get("workflow_run")
        head_sha = run.get("head_sha") if isinstance(run, dict) else None
        head_repo = (run.get("head_repository") or {}) if isinstance(run, dict) else {}
        head_name = head_repo.get("full_name") if isinstance(head_repo, dict) else None
        repo = payload.get("repository")
        default_branch = repo.get("default_branch") if isinstance(repo, dict) else None
        return cls(
            event_name=event_name,
            repository=env.get("GITHUB_REPOSITORY", ""),
            sha=env.get("GITHUB_SHA", ""),
            ref=env.get("GITHUB_REF", ""),
            run_id=env.get("GITHUB_RUN_ID", ""),
            run_attempt=env.get("GITHUB_RUN_ATTEMPT", ""),
            workflow=env.get("GITHUB_WORKFLOW", ""),
            actor=env.get("GITHUB_ACTOR", ""),
            server_url=(env.get("GITHUB_SERVER_URL") or DEFAULT_SERVER_URL).rstrip("/"),
            api_url=(env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
            github_actions=env.get("GITHUB_ACTIONS") == "true",
            output_path=env.get("GITHUB_OUTPUT", ""),
            summary_path=env.get("GITHUB_STEP_SUMMARY", ""),
            has_token=has_token,
            default_branch=default_branch if isinstance(default_branch, str) and default_branch else None,
            pr_number=pr_number_from_event(event_name, payload),
            workflow_run_head_sha=head_sha if isinstance(head_sha, str) and head_sha else None,
            workflow_run_head_repository=head_name if isinstance(head_name, str) and head_name else None,
            github_backoff=_float(env.get("ML_ACTION_GITHUB_BACKOFF")),
            github_login=env.get("ML_ACTION_GITHUB_LOGIN") or None,
            dask_scheduler=env.get("DASK_SCHEDULER_ADDRESS", "").strip(),
            aws_env=MappingProxyType({k: v for k, v in env.items() if k.startswith("AWS_")}),
        )


def read_event(path: str | None) -> dict[str, Any]:
    """The event payload as a dict; ``{}`` when there is none or it cannot be read."""
    if not path:
        return {}
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return payload if isinstance(payload, dict) else {}


def pr_number_from_event(name: str, payload: Mapping[str, Any]) -> int | None:
    """The pull request of this run from the event payload; ``None`` for push, schedule, dispatch.

    ``pull_request``/``pull_request_target`` (and review events): ``pull_request.number``;
    ``issue_comment`` on a PR: ``issue.number``; ``workflow_run``: ``workflow_run.pull_requests[0].number``
    (GitHub leaves that list empty for PRs from forks: the comment file carries the number then).
    """
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


def _float(raw: str | None) -> float | None:
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None
