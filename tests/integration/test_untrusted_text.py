"""Issue 13, items 2, 5 and 6 end to end through ``entrypoint.py``: text from data and the registry never
starts a workflow command in the log, renders as plain text in Markdown, and stays within the size limits;
outputs are never redacted by secret masking."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from tests.helpers import Result, copy_example, run_action

ERR = "::error::FORGED"
WARN = "::warning::FORGED"
OURS = ("group", "endgroup", "error", "warning", "notice", "add-mask")


def assert_no_forged_command(result: Result) -> None:
    """No line, split and trimmed as the runner does, starts a command we did not issue ourselves, and no
    line holds the old ``##[`` syntax (the runner looks for it anywhere in a line)."""
    for stream in (result.stdout, result.stderr):
        for line in re.split(r"\r\n|\r|\n", stream):
            stripped = line.strip()
            assert "##[" not in line, line
            if stripped.startswith("::"):
                name = re.match(r"::([\w-]+)", stripped)
                assert name and name.group(1) in OURS, line
                assert "FORGED" not in stripped.split("::")[2][:20] if stripped.count("::") >= 2 else True, line
                assert not stripped.startswith((ERR, WARN, "::add-mask::FORGED", "::stop-commands::")), line


def manifest_path(workspace: Path) -> Path:
    registry = workspace / ".ml-action" / "registry" / "model"
    version = json.loads((registry / "champion.json").read_text())["version"]
    return registry / "versions" / version / "manifest.json"


def edit_manifest(workspace: Path, **changes: object) -> None:
    path = manifest_path(workspace)
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest))


def test_labels_and_columns_from_data_never_reach_the_log_raw(tmp_path: Path) -> None:
    workspace = copy_example("iris", tmp_path / "ws")
    assert run_action(workspace, {"mode": "publish"}).code == 0
    frame = pd.read_csv(workspace / "iris.csv")
    codes = {"setosa": f"a\n{WARN}", "versicolor": f"b\r{ERR}", "virginica": "@org/team </details> |x|"}
    frame["species"] = frame["species"].map(codes)
    frame[f"odd\n{ERR}"] = frame["sepal_length"] * 2 + 1
    frame["@org/col"] = frame["petal_width"]
    name = "relabel ##[error]x.csv"
    frame.to_csv(workspace / name, index=False)
    result = run_action(workspace, {"data": name, "report-path": f"r\n{ERR}.md"})
    assert result.code == 1  # the champion cannot be compared: its labels share none with these
    assert_no_forged_command(result)
    assert "share none" in result.stdout
    assert result.outputs["report-path"] == f"r\n{ERR}.md"
    assert "report-path=r\\n::error::FORGED.md" in result.stdout  # printed on one line, visibly escaped
    summary = result.summary
    assert "@org/team" not in summary and "@org/col" not in summary and "@\u2060org/team" in summary
    assert "</details> |x|" not in summary and "&lt;/details&gt; \\|x\\|" in summary
    assert summary.count("<details") == summary.count("</details>")
    assert f"odd\n{ERR}" not in summary


def test_registry_text_never_reaches_the_log_raw(tmp_path: Path) -> None:
    workspace = copy_example("iris", tmp_path / "ws")
    assert run_action(workspace, {"mode": "publish"}).code == 0
    features = json.loads(manifest_path(workspace).read_text())["features"]
    edit_manifest(workspace, features=[*features, f"gone\n{ERR}", f"@team\n{WARN}"])
    missing = run_action(workspace, {})
    assert missing.code == 1
    assert_no_forged_command(missing)
    assert "missing from the data" in missing.stdout and "\\n::error::FORGED" in missing.stdout
    assert "@team" not in missing.summary
    edit_manifest(workspace, features=features, target=f"kind\n{ERR}\n  {WARN}")
    target = run_action(workspace, {})
    assert target.code == 1
    assert_no_forged_command(target)
    assert "the champion predicts" in target.stdout
    pointer = workspace / ".ml-action" / "registry" / "model" / "champion.json"
    champion = json.loads(pointer.read_text())
    champion["by"] = f"someone\n{ERR}"
    pointer.write_text(json.dumps(champion))
    listed = run_action(workspace, {"mode": "list"})
    assert_no_forged_command(listed)


def test_a_short_secret_does_not_redact_outputs(tmp_path: Path) -> None:
    workspace = copy_example("iris", tmp_path / "ws")
    result = run_action(workspace, {"github-token": "pass"})
    assert result.code == 0
    assert result.outputs["verdict"] == "pass"
    assert "::add-mask::pass" in result.stdout


def test_a_huge_cell_makes_no_huge_report(tmp_path: Path) -> None:
    workspace = copy_example("iris", tmp_path / "ws")
    assert run_action(workspace, {"mode": "publish"}).code == 0
    frame = pd.read_csv(workspace / "iris.csv")
    frame["colour"] = "red"
    frame.loc[0, "colour"] = "@x" * 25_000_000  # a 50 MB cell in a categorical column
    frame.loc[1, "species"] = "z" * 1_000_000  # and a 1 MB label (the model itself keeps its classes whole)
    frame.to_csv(workspace / "big.csv", index=False)
    result = run_action(workspace, {"mode": "publish", "data": "big.csv", "fail-on-gate": "false"})
    assert result.code == 0, result.stdout[-3000:]
    report = workspace / result.outputs["report-path"]
    assert report.stat().st_size < 200_000
    assert len(result.summary.encode()) < 200_000
    assert len(result.stdout) < 200_000 and len(result.stderr) < 200_000
    assert "more characters" in report.read_text()
    manifest = json.loads(manifest_path(workspace).read_text())
    assert len(json.dumps(manifest["data"]["profile"])) < 100_000  # the profile's values are clipped
