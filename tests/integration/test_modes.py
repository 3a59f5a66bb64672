"""The modes in-process: each mode function called with a Config, a RunContext, a Runner writing to tmp
files and a local registry in tmp_path; asserts on exit codes, outputs, the summary and the registry.
The subprocess tests in tests/integration stay the contract; these are the fast, direct ones."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ml_action import cli
from ml_action.adapters.registry import open_registry
from ml_action.adapters.registry.base import Registry
from ml_action.adapters.runner import Runner
from ml_action.config import Config
from ml_action.context import RunContext
from ml_action.modes import MODES, decide_mode
from tests.helpers import EXAMPLES, make_config, parse_outputs


class Run:
    """One workspace with iris, a local registry and the runner's output/summary files."""

    def __init__(self, tmp_path: Path) -> None:
        self.ws = tmp_path / "ws"
        self.ws.mkdir()
        shutil.copy(EXAMPLES / "iris" / "iris.csv", self.ws / "iris.csv")
        self.output, self.summary = tmp_path / "output", tmp_path / "summary"
        self.tmp = tmp_path

    def config(self, **kw: object) -> Config:
        base: dict[str, object] = {
            "data": "iris.csv",
            "target": "species",
            "model": "logistic_regression",
            "model_name": "iris",
            "bootstrap": 0,
            "snapshot_data": "true",
        }
        return make_config(self.ws, **{**base, **kw})

    def __call__(self, mode: str, **kw: object) -> tuple[int, dict[str, str], str, Registry]:
        self.output.write_text("")
        self.summary.write_text("")
        config = self.config(mode=mode, **kw)
        ctx = RunContext(
            output_path=str(self.output), summary_path=str(self.summary), repository="", run_id="7", actor="tester"
        )
        registry = open_registry(config, {})
        workdir = self.tmp / f"work-{mode}"
        workdir.mkdir(exist_ok=True)
        code = MODES[mode](config, ctx, Runner(ctx), registry, workdir)
        return code, parse_outputs(self.output.read_text()), self.summary.read_text(), registry


@pytest.fixture
def run(tmp_path: Path) -> Run:
    return Run(tmp_path)


def test_evaluate_publish_list_rollback_reproduce_diff(run: Run) -> None:
    code, out, summary, registry = run("evaluate")
    assert code == 0 and out["verdict"] == "pass" and out["promoted"] == "false"
    assert out["report-path"] == "ml-action-report.md" and (run.ws / "ml-action-report.md").is_file()
    assert "No champion yet" in summary and registry.versions() == []

    code, out, _, registry = run("publish")
    assert code == 0 and out["promoted"] == "true"
    first = out["model-version"]
    assert registry.champion()[0]["version"] == first  # type: ignore[index]

    # a worse candidate is published but not promoted: the gates fail, nothing is written
    code, out, summary, registry = run("publish", model="sklearn.dummy.DummyClassifier", params={})
    assert code == 1 and out["promoted"] == "false" and "Not published" in summary
    assert registry.versions() == [first]

    code, out, _, registry = run("publish", params={"C": 0.5})
    assert code == 0 and out["promoted"] == "true"
    second = out["model-version"]

    code, out, summary, _ = run("list")
    rows = json.loads(out["versions"])
    assert [r["version"] for r in rows] == [first, second] and out["champion-version"] == second
    assert "★" in summary

    code, out, summary, registry = run("rollback")
    assert code == 0 and out["champion-version"] == first and "rollback" in summary
    assert registry.champion()[0]["version"] == first  # type: ignore[index]

    code, out, summary, _ = run("reproduce", to_version=first)
    assert code == 0 and out["reproduced"] == "true" and out["report-path"]
    assert "REPRODUCED" in summary

    code, out, summary, _ = run("diff", from_version=first, to_version=second)
    assert code == 0 and out["model-version"] == second
    assert f"diff `iris` `{first}` → `{second}`" in summary and "`C`" not in summary or "C" in summary


def test_monitor_without_a_github_token(run: Run) -> None:
    assert run("publish")[0] == 0
    code, out, summary, _ = run("monitor")
    assert code == 0 and out["verdict"] == "pass" and out["issue-url"] == ""
    assert out["report-path"] == "ml-action-report.md"  # monitor sets it too now
    assert "Monitor:" in summary and "healthy" in summary

    frame = (run.ws / "iris.csv").read_text().splitlines()
    swapped = [frame[0]] + [",".join([*r.split(",")[:-1], "setosa"]) for r in frame[1:]]
    (run.ws / "bad.csv").write_text("\n".join(swapped) + "\n")
    code, out, summary, _ = run("monitor", data="bad.csv")
    assert code == 1 and out["verdict"] == "fail" and "degraded" in summary


def test_monitor_and_evaluate_share_one_champion_check(run: Run) -> None:
    assert run("publish")[0] == 0
    frame = (run.ws / "iris.csv").read_text().splitlines()
    header = frame[0].split(",")
    dropped = [",".join(r.split(",")[1:]) for r in frame]  # the first feature is gone
    (run.ws / "fewer.csv").write_text("\n".join(dropped) + "\n")
    _, out, summary, _ = run("monitor", data="fewer.csv")
    assert out["verdict"] == "fail" and "champion features present" in summary and header[0] in summary
    code, out, summary, _ = run("publish", data="fewer.csv")
    assert code == 1 and out["promoted"] == "false" and "champion features present" in summary


@pytest.mark.parametrize(
    ("event", "ref", "default", "expected"),
    [
        ("pull_request", "refs/pull/1/merge", "main", "evaluate"),
        ("push", "refs/heads/main", "main", "publish"),
        ("push", "refs/heads/feature", "main", "evaluate"),
        ("push", "refs/heads/main", None, "evaluate"),
        ("schedule", "refs/heads/main", "main", "evaluate"),
    ],
)
def test_decide_mode(tmp_path: Path, event: str, ref: str, default: str | None, expected: str) -> None:
    ctx = RunContext(event_name=event, ref=ref, default_branch=default)
    assert decide_mode(make_config(tmp_path), ctx) == expected
    assert decide_mode(make_config(tmp_path, mode="list"), ctx) == "list"


def test_run_context_reads_the_event_once(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "repository": {"default_branch": "trunk"},
                "workflow_run": {"head_sha": "a" * 40, "pull_requests": [{"number": 3}]},
            }
        )
    )
    ctx = RunContext.from_env(
        {
            "GITHUB_EVENT_NAME": "workflow_run",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_REPOSITORY": "o/r",
            "GITHUB_RUN_ID": "9",
            "GITHUB_ACTIONS": "true",
            "ML_ACTION_GITHUB_BACKOFF": "oops",
        }
    )
    assert (ctx.default_branch, ctx.pr_number, ctx.workflow_run_head_sha) == ("trunk", 3, "a" * 40)
    assert ctx.github_actions and ctx.github_backoff is None
    assert ctx.run_url == "https://github.com/o/r/actions/runs/9"


def test_an_unexpected_error_is_one_annotation_a_folded_traceback_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(config: Config, ctx: RunContext, runner: Runner, registry: Registry | None, workdir: Path) -> int:
        return {"champion": "v1"}["version"]  # type: ignore[return-value]  # a bug: KeyError

    env = {"INPUT_MODE": "evaluate", "GITHUB_WORKSPACE": str(tmp_path)}
    code = cli.run({}, env, modes={"evaluate": broken})
    out = capsys.readouterr().out
    errors = [line for line in out.splitlines() if line.startswith("::error")]
    assert code == 2
    assert len(errors) == 1 and "KeyError" in errors[0] and cli.ISSUES_URL in errors[0]
    assert "title=internal error" in errors[0]
    group = out[out.index("::group::Traceback") : out.index("::endgroup::", out.index("::group::Traceback"))]
    assert "Traceback (most recent call last)" in group and "broken" in group


def test_evaluate_says_not_used_for_a_dropped_feature(tmp_path) -> None:
    run = Run(tmp_path)
    assert run("publish")[0] == 0
    code, _, summary, _ = run("evaluate", drop=("petal_width",))
    assert code in (0, 1)
    assert "Not used by the model (still in the data, not tested): `petal_width`" in summary
    assert "removed: `petal_width`" not in summary
