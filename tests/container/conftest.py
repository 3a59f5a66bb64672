"""Container test fixtures: build the ml-action image once per session and run it as a GitHub runner would.

Uses Docker when `docker info` answers; otherwise rootful podman (chroot isolation, runc) on the
Debian bookworm base image made by .ci/container-setup.sh. Skips, naming what is missing, when neither
engine can be used: the tests never install system packages (.ci/run prepares the machine first).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.github_emulator import GitHubEmulator

ROOT = Path(__file__).resolve().parents[2]
# ML_ACTION_TEST_IMAGE lets two checkouts on one machine build and test without retagging each other's image.
TAG = os.environ.get("ML_ACTION_TEST_IMAGE", "localhost/ml-action:test")
PODMAN_BASE = "localhost/pybase:bookworm"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
BUILD_TIMEOUT = 45 * 60
RUN_TIMEOUT = 10 * 60
PREPARE = "prepare this machine with `sudo bash .ci/container-setup.sh`"


@dataclass(frozen=True)
class Image:
    """A built image and the command prefix that runs a container from it."""

    engine: str
    tag: str
    run_prefix: tuple[str, ...]


@dataclass(frozen=True)
class Runner:
    """Host folders laid out as the GitHub runner mounts them into a Docker action's container."""

    workspace: Path
    file_commands: Path
    workflow: Path
    home: Path

    def run(
        self,
        image: Image,
        step: str,
        inputs: Mapping[str, str],
        event_name: str = "push",
        event: Mapping[str, object] | None = None,
        args: tuple[str, ...] = (),
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run the action once: outputs go to file_commands/output-<step>, the summary to summary-<step>.

        ``env`` adds or overrides variables (GITHUB_API_URL, AWS_*, GITHUB_REF, ...).
        """
        (self.workflow / "event.json").write_text(json.dumps(event or {}))
        variables = {
            "GITHUB_ACTIONS": "true",
            "CI": "true",
            "HOME": "/github/home",
            "GITHUB_WORKSPACE": "/github/workspace",
            "GITHUB_EVENT_PATH": "/github/workflow/event.json",
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_OUTPUT": f"/github/file_commands/output-{step}",
            "GITHUB_STEP_SUMMARY": f"/github/file_commands/summary-{step}",
            "GITHUB_REPOSITORY": "octo/iris",
            "GITHUB_SHA": "0" * 40,
            "GITHUB_REF": "refs/heads/main",
            "GITHUB_RUN_ID": "1",
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_ACTOR": "octo",
            # the runner upper-cases the input name and keeps its hyphens: test-size -> INPUT_TEST-SIZE
            **{f"INPUT_{name.upper()}": value for name, value in inputs.items()},
            **(env or {}),
        }
        mounts = {
            self.workspace: "/github/workspace",
            self.file_commands: "/github/file_commands",
            self.workflow: "/github/workflow",
            self.home: "/github/home",
        }
        cmd = [*image.run_prefix, "--workdir", "/github/workspace"]
        for host, target in mounts.items():
            cmd += ["-v", f"{host}:{target}"]
        for name, value in variables.items():
            cmd += ["-e", f"{name}={value}"]
        return subprocess.run([*cmd, image.tag, *args], capture_output=True, text=True, timeout=RUN_TIMEOUT)

    def copy_example(self, name: str) -> None:
        """Copy examples/<name> into the workspace, without what local runs leave there."""
        shutil.copytree(
            ROOT / "examples" / name,
            self.workspace,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(".ml-action", "ml-action-report.md", "ml-action-comment.md"),
        )

    def output(self, step: str) -> str:
        path = self.file_commands / f"output-{step}"
        return path.read_text() if path.exists() else ""

    def summary(self, step: str) -> str:
        path = self.file_commands / f"summary-{step}"
        return path.read_text() if path.exists() else ""


def _ok(cmd: list[str], timeout: float = 60) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=timeout).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _engine() -> tuple[str, list[str], tuple[str, ...]] | str:
    """(engine, build command, run prefix), or the reason why no engine can be used."""
    if shutil.which("docker") and _ok(["docker", "info"], timeout=30):
        # --network host: the test S3 server and GitHub emulator listen on the host's 127.0.0.1
        return "docker", ["docker", "build", "-t", TAG, str(ROOT)], ("docker", "run", "--rm", "--network", "host")
    missing = [tool for tool in ("podman", "runc") if not shutil.which(tool)]
    if missing:
        return (
            f"no Docker engine answers `docker info` and {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing: {PREPARE}"
        )
    if not _ok(["podman", "image", "exists", PODMAN_BASE]):
        return f"podman base image {PODMAN_BASE} is missing: {PREPARE}"
    build = [
        "podman",
        "build",
        "--isolation",
        "chroot",
        "-v",
        f"{CA_BUNDLE}:{CA_BUNDLE}:ro",
        "--build-arg",
        f"BASE_IMAGE={PODMAN_BASE}",
        "-t",
        TAG,
        str(ROOT),
    ]
    run = (
        "podman",
        "--runtime",
        "runc",
        "run",
        "--rm",
        "--network",
        "host",
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=1024:1024",
    )
    return "podman", build, run


@pytest.fixture(scope="session")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    """The ml-action image, built from the working tree once per test session."""
    found = _engine()
    if isinstance(found, str):
        pytest.skip(found)
    engine, build, run_prefix = found
    log = tmp_path_factory.mktemp("image") / "build.log"
    with log.open("w") as out:
        done = subprocess.run(build, stdout=out, stderr=subprocess.STDOUT, timeout=BUILD_TIMEOUT)
    if done.returncode != 0:
        pytest.fail(f"`{' '.join(build)}` failed ({done.returncode}); log {log}:\n{log.read_text()[-4000:]}")
    return Image(engine, TAG, run_prefix)


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    """Empty workspace, file_commands, workflow and home folders for one job."""
    dirs = [tmp_path / name for name in ("workspace", "file_commands", "workflow", "home")]
    for folder in dirs:
        folder.mkdir()
    return Runner(*dirs)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3 server (moto) on the host: the container reaches it through the host network."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{server._server.server_port}"
    finally:
        server.stop()


@pytest.fixture
def bucket(s3_endpoint: str) -> str:
    """A fresh bucket on the test S3 server (created from the host with boto3)."""
    import boto3

    name = f"ml-action-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing-key-id",
        aws_secret_access_key="testing-secret",
    )
    client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def github_api() -> Iterator[GitHubEmulator]:
    """The GitHub REST API emulator on the host (token ``ghs_actions`` is ``github-actions[bot]``)."""
    emulator = GitHubEmulator().start()
    try:
        yield emulator
    finally:
        emulator.stop()
