"""The contract stays in one piece: action.yml, the INPUTS/OUTPUTS tables in code and the README agree."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ml_action import __version__
from ml_action.config import INPUTS, OUTPUTS

ROOT = Path(__file__).resolve().parents[2]


def inputs_table() -> str:
    rows = ["| input | default | description |", "| --- | --- | --- |"]
    for spec in INPUTS:
        default = (
            "`${{ github.token }}`" if spec.name == "github-token" else (f"`{spec.default}`" if spec.default else "")
        )
        rows.append(f"| `{spec.name}` | {default} | {spec.description}{' **Required.**' if spec.required else ''} |")
    return "\n".join(rows)


def outputs_table() -> str:
    return "\n".join(
        ["| output | description |", "| --- | --- |", *[f"| `{name}` | {text} |" for name, text in OUTPUTS.items()]]
    )


def _section(text: str, name: str) -> str:
    match = re.search(rf"<!-- {name}:start -->\n(.*?)\n<!-- {name}:end -->", text, flags=re.S)
    assert match, f"README has no {name} section"
    return match.group(1).strip()


def test_action_yml_declares_exactly_the_inputs_and_outputs() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert list(action["inputs"]) == [i.name for i in INPUTS]
    assert list(action["outputs"]) == list(OUTPUTS)
    assert action["runs"] == {"using": "docker", "image": "Dockerfile"}
    for spec in INPUTS:
        declared = action["inputs"][spec.name]
        assert declared["description"].startswith(spec.description)
        # defaults live in code so that the config file is not overridden by runner-supplied defaults
        assert declared.get("default") == ("${{ github.token }}" if spec.name == "github-token" else None)
        if spec.default and spec.name != "github-token":
            assert f"Default: `{spec.default}`." in declared["description"]


def test_readme_tables_match_the_code() -> None:
    readme = (ROOT / "README.md").read_text()
    assert _section(readme, "inputs") == inputs_table()
    assert _section(readme, "outputs") == outputs_table()


def test_one_version_string() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^version = "(.+)"$', pyproject, flags=re.M).group(1) == __version__
    # the CHANGELOG's latest released entry (after [Unreleased]) is this version: release.yml takes its notes
    changelog = (ROOT / "CHANGELOG.md").read_text()
    released = re.findall(r"^## \[(\d+\.\d+\.\d+[^\]]*)\] - \d{4}-\d{2}-\d{2}$", changelog, flags=re.M)
    assert released, "CHANGELOG.md has no `## [X.Y.Z] - YYYY-MM-DD` entry"
    assert released[0] == __version__, f"CHANGELOG.md's latest entry is {released[0]}, the package is {__version__}"
    # what the docs tell people to `uses:` is this major version (release.yml moves the tag `v<major>`)
    major = __version__.split(".")[0]
    docs = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "examples" / "workflows").glob("*.yml")]
    used = {m for path in docs for m in re.findall(r"ml-action/ml-action@v(\d+)\b", path.read_text())}
    assert used == {major}, f"the docs use @v{sorted(used)}, the package is {__version__}"


if __name__ == "__main__":  # print the tables for the README
    print(inputs_table(), "\n\n", outputs_table(), sep="")
