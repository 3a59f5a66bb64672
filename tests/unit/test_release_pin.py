"""The release rewrite (.github/scripts/release_pin.py) and its wiring in release.yml.

A release commit must differ from the source in exactly one line of action.yml, pin the image by the
digest just pushed, stay valid against the GitHub Actions schema, and refuse anything that is not a
digest or a GitHub owner.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".github" / "scripts" / "release_pin.py"
DIGEST = "sha256:" + "0123456789abcdef" * 4
REFERENCE = f"docker://ghcr.io/octo-org/ml-action@{DIGEST}"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("release_pin", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


release_pin = _load()


def _changed_lines(before: bytes, after: bytes) -> list[tuple[bytes, bytes]]:
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(old) == len(new)
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


def test_the_real_action_yml_changes_in_its_image_line_only(tmp_path: Path) -> None:
    target = tmp_path / "action.yml"
    shutil.copyfile(ROOT / "action.yml", target)
    assert release_pin.main(["--repository", "Octo-Org/ml-action", "--digest", DIGEST, str(target)]) == 0
    before, after = (ROOT / "action.yml").read_bytes(), target.read_bytes()
    assert _changed_lines(before, after) == [(b"  image: Dockerfile\n", f"  image: {REFERENCE}\n".encode())]
    old, new = yaml.safe_load(before), yaml.safe_load(after)
    assert new["runs"] == {"using": "docker", "image": REFERENCE}
    new["runs"]["image"] = "Dockerfile"
    assert new == old


def test_the_rewritten_action_yml_matches_the_github_actions_schema(tmp_path: Path) -> None:
    tool = Path(sys.executable).parent / "check-jsonschema"
    found = str(tool) if tool.is_file() else shutil.which("check-jsonschema")
    if found is None:
        pytest.skip("check-jsonschema is not installed (it comes with `pip install -e '.[test]'`)")
    target = tmp_path / "action.yml"
    target.write_text(release_pin.pin((ROOT / "action.yml").read_text(), REFERENCE))
    done = subprocess.run(
        [found, "--builtin-schema", "vendor.github-actions", str(target)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_owner_and_name_are_lower_cased_as_ghcr_requires() -> None:
    assert release_pin.image_reference("Octo-Org/ML-Action", DIGEST) == REFERENCE


@pytest.mark.parametrize(
    "digest",
    [
        "",
        "sha256:",
        "sha256:" + "0" * 63,
        "sha256:" + "0" * 65,
        "sha512:" + "0" * 64,
        "0" * 64,
        "sha256:" + "ABCDEF0123456789" * 4,
        "sha256:" + "g" * 64,
        DIGEST + "\n",
        " " + DIGEST,
        f"{DIGEST}\n  foo: bar",
        "latest",
        "sha256:" + "0" * 64 + "#",
    ],
)
def test_anything_but_a_sha256_digest_is_refused(digest: str) -> None:
    with pytest.raises(release_pin.PinError, match="not an image digest"):
        release_pin.image_reference("octo/ml-action", digest)


@pytest.mark.parametrize(
    "owner", ["", "-octo", "octo-", "oc--to", "oc_to", "oc.to", "octo org", "a" * 40, "../x", "octo\n", "octo@evil"]
)
def test_anything_but_a_github_owner_is_refused(owner: str) -> None:
    with pytest.raises(release_pin.PinError, match="not a GitHub owner"):
        release_pin.image_reference(f"{owner}/ml-action", DIGEST)


@pytest.mark.parametrize("repository", ["octo", "octo/", "octo/a/b", "octo/..", "octo/a b", "octo/" + "a" * 101])
def test_anything_but_a_repository_name_is_refused(repository: str) -> None:
    with pytest.raises(release_pin.PinError, match="not a GitHub repository name"):
        release_pin.image_reference(repository, DIGEST)


def test_a_valid_owner_of_39_characters_is_accepted() -> None:
    owner = "a-" * 19 + "b"
    assert len(owner) == 39
    assert release_pin.image_reference(f"{owner}/x", DIGEST).startswith(f"docker://ghcr.io/{owner}/x@")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('  image: "Dockerfile"\n', f"  image: {REFERENCE}\n"),
        ("  image: 'Dockerfile'  # built on every job\n", f"  image: {REFERENCE}  # built on every job\n"),
        ("  image: Dockerfile\r\n", f"  image: {REFERENCE}\r\n"),
        ("  image: Dockerfile", f"  image: {REFERENCE}"),
    ],
)
def test_quotes_comments_and_line_endings_are_kept(line: str, expected: str) -> None:
    head = "# comment\r\nname: x\nruns:  # the runtime\n  using: docker\n"
    assert release_pin.pin(head + line, REFERENCE) == head + expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("name: x\nruns:\n  using: docker\n  image: docker://ghcr.io/a/b@" + DIGEST + "\n", "already a release commit"),
        ("name: x\nruns:\n  using: docker\n  image: other.Dockerfile\n", "expected `image: Dockerfile`"),
        ("name: x\nruns:\n  using: node20\n  main: index.js\n", "found 0"),
        ("name: x\nruns:\n  using: docker\n  image: Dockerfile\n  image: Dockerfile\n", "found 2"),
        ("name: x\n  image: Dockerfile\n", "exactly one top-level `runs:`"),
        # an `image:` outside the runs block is not the action's image
        ("image: Dockerfile\nruns:\n  using: docker\nx:\n  image: Dockerfile\n", "found 0"),
    ],
)
def test_an_unexpected_action_yml_is_refused(text: str, problem: str) -> None:
    with pytest.raises(release_pin.PinError, match=problem):
        release_pin.pin(text, REFERENCE)


def test_a_bad_digest_writes_nothing_and_prints_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "action.yml"
    shutil.copyfile(ROOT / "action.yml", target)
    assert release_pin.main(["--repository", "octo/ml-action", "--digest", "sha256:nope", str(target)]) == 1
    assert target.read_bytes() == (ROOT / "action.yml").read_bytes()
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("::error title=release_pin::"), out


def test_a_second_run_on_a_release_commit_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "action.yml"
    shutil.copyfile(ROOT / "action.yml", target)
    args = ["--repository", "octo/ml-action", "--digest", DIGEST, str(target)]
    assert release_pin.main(args) == 0
    pinned = target.read_bytes()
    assert release_pin.main(args) == 1
    assert target.read_bytes() == pinned


def test_main_keeps_building_the_source() -> None:
    assert yaml.safe_load((ROOT / "action.yml").read_text())["runs"] == {"using": "docker", "image": "Dockerfile"}


def test_release_yml_pins_the_digest_the_image_job_pushed() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    jobs = workflow["jobs"]
    build = next(s for s in jobs["image"]["steps"] if str(s.get("uses", "")).startswith("docker/build-push-action"))
    assert jobs["image"]["outputs"]["digest"] == f"${{{{ steps.{build['id']}.outputs.digest }}}}"
    release = jobs["release"]
    assert release["needs"] == "image"
    runs = "\n".join(str(s.get("run", "")) for s in release["steps"])
    assert ".github/scripts/release_pin.py" in runs
    assert any(s.get("env", {}).get("DIGEST") == "${{ needs.image.outputs.digest }}" for s in release["steps"])
    # write access to the repository only where the tags are moved
    assert workflow["permissions"] == {}
    assert {name: job["permissions"].get("contents") for name, job in jobs.items()} == {
        "image": "read",
        "release": "write",
    }
    for job in jobs.values():
        for step in job["steps"]:
            if str(step.get("uses", "")).startswith("actions/checkout"):
                assert step["with"]["persist-credentials"] is False
