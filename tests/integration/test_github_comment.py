"""The sticky PR comment, the fork-safe comment file and the monitor issue, against the GitHub emulator over HTTP."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ml_action.adapters import github_api as gh_mod
from ml_action.context import RunContext
from ml_action.errors import UserError
from ml_action.modes.comment_file import post_comment_file
from ml_action.modes.evaluate import post_or_save
from ml_action.report import comment as body_text
from tests.helpers import make_config
from tests.integration.github_emulator import GitHubEmulator, Identity

REPO = "acme/churn"
PR = 7
OTHER = Identity("someone-else", 1234567)
PERSON = Identity("octocat", 583231)

pytest_plugins = ["tests.integration.github_fixtures"]  # the github_api fixture


def env_for(
    emulator: GitHubEmulator, tmp_path: Path, event: dict | None = None, name: str = "pull_request"
) -> dict[str, str]:
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(event if event is not None else {"pull_request": {"number": PR}}))
    return {
        "GITHUB_API_URL": emulator.url,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_RUN_ID": "4242",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_EVENT_NAME": name,
        "GITHUB_EVENT_PATH": str(event_path),
        "ML_ACTION_GITHUB_BACKOFF": "0.01",
    }


def busy_pr(emulator: GitHubEmulator, comments: int = 250) -> None:
    """A PR with ``comments`` comments; one by another user starts with our marker (quoting it)."""
    emulator.add_pull(REPO, PR)
    for n in range(comments - 1):
        emulator.add_comment(REPO, PR, f"review note {n}", PERSON)
    emulator.add_comment(REPO, PR, body_text.marker("churn") + "\nI copied your comment", OTHER)


def ours(emulator: GitHubEmulator, key: str = "churn") -> list[dict]:
    return [
        c
        for c in emulator.comments_on(REPO, PR)
        if c["user"]["login"] == "github-actions[bot]" and c["body"].startswith(body_text.marker(key))
    ]


def test_update_on_a_250_comment_pr_edits_ours_in_place(github_api: GitHubEmulator) -> None:
    busy_pr(github_api)
    gh = gh_mod.client("ghs_actions", RunContext.from_env(os.environ))

    first = gh_mod.upsert_comment(gh, REPO, PR, "## Verdict: better", "churn", "update")
    assert first.action == "created"
    assert first.requests == github_api.total_requests()
    github_api.reset_counts()

    second = gh_mod.upsert_comment(gh, REPO, PR, "## Verdict: worse", "churn", "update")
    print(f"\nupdate on a 251-comment PR: {second.requests} requests {dict(github_api.requests)}")
    assert second.action == "updated" and second.url == first.url
    assert second.requests == github_api.total_requests() == 5  # 3 pages + GET /user (403) + PATCH
    assert github_api.requests[("PATCH", f"/repos/{REPO}/issues/comments/{ours(github_api)[0]['id']}")] == 1
    mine = ours(github_api)
    assert len(mine) == 1 and mine[0]["body"].endswith("## Verdict: worse")
    theirs = [c for c in github_api.comments_on(REPO, PR) if c["user"]["login"] == "someone-else"]
    assert theirs[0]["body"] == body_text.marker("churn") + "\nI copied your comment"
    assert len(github_api.comments_on(REPO, PR)) == 251


def test_two_keys_make_two_comments_and_a_personal_token_uses_get_user(github_api: GitHubEmulator) -> None:
    github_api.add_pull(REPO, PR)
    gh = gh_mod.client("ghs_actions", RunContext.from_env(os.environ))
    gh_mod.upsert_comment(gh, REPO, PR, "a", "churn", "update")
    gh_mod.upsert_comment(gh, REPO, PR, "b", "churn-v2", "update")
    gh_mod.upsert_comment(gh, REPO, PR, "a2", "churn", "update")
    assert [c["body"].split("\n")[-1] for c in ours(github_api, "churn")] == ["a2"]
    assert [c["body"].split("\n")[-1] for c in ours(github_api, "churn-v2")] == ["b"]

    person = gh_mod.client("ghp_person", RunContext.from_env(os.environ))
    gh_mod.upsert_comment(person, REPO, PR, "p", "churn", "update")
    gh_mod.upsert_comment(person, REPO, PR, "p2", "churn", "update")
    by_person = [c for c in github_api.comments_on(REPO, PR) if c["user"]["login"] == "octocat"]
    assert [c["body"].split("\n")[-1] for c in by_person] == ["p2"]
    assert ours(github_api, "churn")[0]["body"].endswith("a2")  # the bot's comment is not the person's


def test_recreate_new_and_off(github_api: GitHubEmulator) -> None:
    github_api.add_pull(REPO, PR)
    gh = gh_mod.client("ghs_actions", RunContext.from_env(os.environ))
    first = gh_mod.upsert_comment(gh, REPO, PR, "one", "churn", "update")
    github_api.reset_counts()
    again = gh_mod.upsert_comment(gh, REPO, PR, "two", "churn", "recreate")
    assert again.action == "recreated" and again.url != first.url
    assert sum(n for (method, _), n in github_api.requests.items() if method == "DELETE") == 1
    assert again.requests == github_api.total_requests() == 4  # list, /user, DELETE, POST
    assert [c["body"].split("\n")[-1] for c in ours(github_api)] == ["two"]

    new = gh_mod.upsert_comment(gh, REPO, PR, "three", "churn", "new")
    assert new.action == "created" and new.requests == 1
    assert len(ours(github_api)) == 2

    github_api.reset_counts()
    assert gh_mod.upsert_comment(gh, REPO, PR, "four", "churn", "off") == gh_mod.CommentResult(None, "skipped", 0)
    assert github_api.total_requests() == 0


def test_a_60000_character_details_section_is_shortened_and_the_head_kept(github_api: GitHubEmulator) -> None:
    head = "## ✅ Candidate is better\n\n| metric | champion | candidate |\n| --- | --- | --- |\n| f1 | 0.8 | 0.9 |\n"
    head += "\n".join(f"| gate {n} | passed | 🎉 |" for n in range(300))
    details = [
        "<details><summary>Per-class</summary>\n\n```\n"
        + "\n".join("x" * 99 for _ in range(600))
        + "\n```\n</details>",
        "<details><summary>Drift</summary>\n\n" + "y" * 10_000 + "\n</details>",
    ]
    footer = "<sub>[workflow run](https://github.com/acme/churn/actions/runs/1)</sub>"
    body = body_text.fit_comment(head, details, footer, key="churn")
    assert body_text.github_length(body) <= 65536 - 500
    assert body.startswith(body_text.marker("churn") + "\n\n" + head)
    assert body.endswith(body_text.SHORTENED_NOTE + "\n\n" + footer)
    assert body.count("```") % 2 == 0 and body.count("<details") == body.count("</details>")
    assert "Per-class" in body and "Drift" not in body

    small = body_text.fit_comment(head, ["short"], footer)
    assert small == "\n\n".join([head, "short", footer])

    github_api.add_pull(REPO, PR)
    gh = gh_mod.client("ghs_actions", RunContext.from_env(os.environ))
    assert gh_mod.upsert_comment(gh, REPO, PR, body, "churn", "update").action == "created"
    with pytest.raises(gh_mod.GitHubError) as raised:  # the emulator enforces GitHub's limit
        gh_mod.upsert_comment(gh, REPO, PR, head + "".join(details) * 2, "churn", "new")
    assert raised.value.status == 422


def test_transient_502_and_rate_limits_are_retried(github_api: GitHubEmulator) -> None:
    github_api.add_pull(REPO, PR)
    gh = gh_mod.client("ghs_actions", RunContext.from_env(os.environ))
    github_api.fail_next(2, 502)
    assert gh_mod.upsert_comment(gh, REPO, PR, "a", "churn", "update").action == "created"
    assert [status for _, _, status in github_api.log] == [502, 502, 200, 201]

    github_api.reset_counts()
    github_api.secondary_rate_limit(1, retry_after=1)
    github_api.too_many_requests(1, retry_after=1)
    assert gh_mod.upsert_comment(gh, REPO, PR, "b", "churn", "update").action == "updated"
    assert [status for _, _, status in github_api.log] == [403, 429, 200, 403, 200]
    assert [c["body"].split("\n")[-1] for c in ours(github_api)] == ["b"]

    github_api.reset_counts()  # no Retry-After: the message alone marks it retryable (a bounded wait)
    github_api.secondary_rate_limit(1, retry_after=None)
    assert gh_mod.upsert_comment(gh, REPO, PR, "c", "churn", "update").action == "updated"
    assert [status for _, _, status in github_api.log] == [403, 200, 403, 200]


def test_persistent_502_warns_and_never_raises(github_api: GitHubEmulator, tmp_path: Path) -> None:
    github_api.add_pull(REPO, PR)
    github_api.fail_next(100, 502)
    warnings: list[str] = []
    config = make_config(tmp_path, github_token="ghs_actions", model_name="churn")
    url = post_or_save(config, RunContext.from_env(env_for(github_api, tmp_path)), "head", [], warnings.append)
    assert url is None
    assert len(warnings) == 1 and "502" in warnings[0] and "ml-action-comment.md" in warnings[0]
    assert github_api.total_requests() == gh_mod.RETRIES + 1


def test_fork_pr_saves_the_comment_and_the_workflow_run_job_posts_it(
    github_api: GitHubEmulator, tmp_path: Path
) -> None:
    github_api.add_pull(REPO, PR, head_sha="c" * 40)
    warnings: list[str] = []
    readonly = make_config(tmp_path, github_token="ghs_readonly", model_name="churn")
    env = env_for(github_api, tmp_path)
    assert post_or_save(readonly, RunContext.from_env(env), "## head", ["details"], warnings.append) is None
    saved = (tmp_path / "ml-action-comment.md").read_text()
    assert saved.startswith(body_text.marker("churn") + "\n" + body_text.pr_marker(PR))
    assert "## head" in saved and "actions/runs/4242" in saved
    assert len(warnings) == 1 and "mode: comment" in warnings[0] and "Resource not accessible" in warnings[0]
    assert github_api.comments_on(REPO, PR) == []

    # the trusted workflow_run job: the PR list is empty for forks, so the number comes from the file. The file
    # is posted only for a run from this repository (a read-only token, not a fork): a fork's file is refused
    # (test_fork_comment.py), its result bundle is rendered instead
    run = {"workflow_run": {"head_sha": "c" * 40, "pull_requests": [], "head_repository": {"full_name": REPO}}}
    run_env = env_for(github_api, tmp_path, run, name="workflow_run")
    trusted = make_config(tmp_path, github_token="ghs_actions", model_name="churn", mode="comment")
    url = post_comment_file(trusted, RunContext.from_env(run_env), "ml-action-comment.md")
    posted = ours(github_api)
    assert len(posted) == 1 and url == posted[0]["html_url"]
    assert "## head" in posted[0]["body"] and body_text.pr_marker(PR) not in posted[0]["body"]
    post_comment_file(trusted, RunContext.from_env(run_env), "ml-action-comment.md")
    assert len(ours(github_api)) == 1  # sticky

    # a crafted artifact pointing at another PR is refused: that PR's head is not the run's head
    github_api.add_pull(REPO, 8, head_sha="d" * 40)
    (tmp_path / "evil.md").write_text(body_text.pr_marker(8) + "\n<!-- ml-action:other -->\nspam")
    with pytest.raises(UserError) as refused:
        post_comment_file(trusted, RunContext.from_env(run_env), "evil.md")
    assert refused.value.input == "pr-number"


def test_comment_file_bad_input_names_the_input(github_api: GitHubEmulator, tmp_path: Path) -> None:
    env = env_for(github_api, tmp_path, {}, name="workflow_run")
    config = make_config(tmp_path, github_token="ghs_actions", model_name="churn")
    cases = {"missing.md": None, "bad.md": "<!-- ml-action:pr=7; rm -rf -->\nx", "nopr.md": "just a body"}
    expected = {"missing.md": "comment-file", "bad.md": "comment-file", "nopr.md": "pr-number"}
    for name, text in cases.items():
        if text is not None:
            (tmp_path / name).write_text(text)
        with pytest.raises(UserError) as raised:
            post_comment_file(config, RunContext.from_env(env), name)
        assert raised.value.input == expected[name]
    with pytest.raises(UserError) as outside:
        post_comment_file(config, RunContext.from_env(env), "../../etc/passwd")
    assert outside.value.input == "comment-file"
    assert github_api.total_requests() == 0


def test_no_pr_or_no_token(github_api: GitHubEmulator, tmp_path: Path) -> None:
    warnings: list[str] = []
    config = make_config(tmp_path, github_token="ghs_actions", model_name="churn")
    push = env_for(github_api, tmp_path, {"ref": "refs/heads/main"}, name="push")
    assert post_or_save(config, RunContext.from_env(push), "head", [], warnings.append) is None
    no_token = make_config(tmp_path, model_name="churn", pr_number=PR)
    assert post_or_save(no_token, RunContext.from_env(push), "head", [], warnings.append) is None
    assert github_api.total_requests() == 0
    assert len(warnings) == 1 and "`github-token` is empty" in warnings[0]
    assert (tmp_path / "ml-action-comment.md").read_text().startswith(body_text.marker("churn"))


def test_post_or_save_posts_and_returns_the_url(github_api: GitHubEmulator, tmp_path: Path) -> None:
    busy_pr(github_api, 3)
    config = make_config(tmp_path, github_token="ghs_actions", model_name="churn")
    env = env_for(github_api, tmp_path)
    url = post_or_save(config, RunContext.from_env(env), "## head", ["d"], pytest.fail)
    url2 = post_or_save(config, RunContext.from_env(env), "## head 2", ["d"], pytest.fail)
    assert url == url2 == ours(github_api)[0]["html_url"]
    assert "## head 2" in ours(github_api)[0]["body"]


@pytest.mark.parametrize(
    ("name", "event", "expected"),
    [
        ("pull_request", {"pull_request": {"number": 12}}, 12),
        ("pull_request_target", {"pull_request": {"number": 13}}, 13),
        ("push", {"ref": "refs/heads/main"}, None),
        ("schedule", {"schedule": "0 3 * * *"}, None),
        ("workflow_run", {"workflow_run": {"pull_requests": [{"number": 14}]}}, 14),
        ("workflow_run", {"workflow_run": {"pull_requests": []}}, None),
        ("issue_comment", {"issue": {"number": 15, "pull_request": {}}}, 15),
        ("issue_comment", {"issue": {"number": 16}}, None),
    ],
)
def test_pr_number_from_event(tmp_path: Path, name: str, event: dict, expected: int | None) -> None:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    assert RunContext.from_env({"GITHUB_EVENT_NAME": name, "GITHUB_EVENT_PATH": str(path)}).pr_number == expected
    assert RunContext.from_env({}).pr_number is None


def test_run_url() -> None:
    env = {"GITHUB_SERVER_URL": "https://ghe.example", "GITHUB_REPOSITORY": REPO, "GITHUB_RUN_ID": "9"}
    assert RunContext.from_env(env).run_url == "https://ghe.example/acme/churn/actions/runs/9"
    assert RunContext.from_env({}).run_url is None


def test_monitor_issue_upsert_and_close(github_api: GitHubEmulator) -> None:
    github_api.add_pull(REPO, 1)  # PRs are in the issues list too
    gh = gh_mod.client("ghs_actions", RunContext.from_env(os.environ))
    person = gh_mod.client("ghp_other", RunContext.from_env(os.environ))
    decoy = person.get_repo(REPO).create_issue(title="copy", body=body_text.marker("churn") + "\nquoted")
    for n in range(120):  # more than one page of open issues
        github_api.state.issues[(REPO, 100 + n)] = github_api._new_issue(REPO, 100 + n, f"i{n}", "", OTHER)

    github_api.reset_counts()
    url = gh_mod.upsert_issue(gh, REPO, "churn", "Model churn degraded", "f1 fell")
    assert github_api.total_requests() == 4  # 2 pages of open issues, GET /user (decoy has the marker), POST
    again = gh_mod.upsert_issue(gh, REPO, "churn", "Model churn degraded again", "f1 fell more")
    assert url == again
    mine = [i for i in github_api.issues_in(REPO) if i["user"]["login"] == "github-actions[bot]"]
    assert len(mine) == 1 and mine[0]["title"].endswith("again") and mine[0]["body"].endswith("f1 fell more")

    assert gh_mod.close_issue(gh, REPO, "churn", "Recovered.") is True
    assert mine[0]["state"] == "closed"
    assert [c["body"] for c in github_api.comments_on(REPO, mine[0]["number"])] == ["Recovered."]
    assert gh_mod.close_issue(gh, REPO, "churn", "Recovered.") is False
    assert github_api.state.issues[(REPO, decoy.number)]["state"] == "open"
