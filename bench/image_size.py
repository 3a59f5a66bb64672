"""What a user of the released action downloads, and how soon the action speaks (podman, this machine).

1. Size: `podman save` the image (docker-archive: one uncompressed tar per layer), keep the layers that
   are not in the base image (matched by their diff id, the sha256 of the uncompressed tar), and compress
   each one as a registry stores it: gzip level 6 (what `docker push` and buildkit use by default) and
   zstd level 3 (buildkit's `compression=zstd`). The sum is what a pull costs on top of a cached base.
2. Start-up, with the image present: the time from `podman run` to the first line the container prints,
   median of ``--runs``, for `--version`, for a real `mode: evaluate` on examples/iris (to its first log line
   and to its exit), and for `python -c pass` in the same image (the floor: podman + the interpreter).

    python bench/image_size.py [--build] [--image localhost/ml-action:bench] [--runs 7] [--json FILE]

`--build` builds the image first, as docs/container.md does (podman, chroot isolation, the bookworm base
from .ci/container-setup.sh). Prints a Markdown table for docs/container.md.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import shutil
import statistics
import subprocess
import tarfile
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
BASE = "localhost/pybase:bookworm"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
RUN = [
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
]
MB = 1e6


@dataclass(frozen=True)
class Layer:
    """One layer of the saved image: its diff id, whether the base has it, and its size three ways (bytes)."""

    diff_id: str
    base: bool
    raw: int
    gzip: int
    zstd: int


def build(image: str, base: str) -> float:
    """Build the image as docs/container.md says; seconds taken."""
    started = time.perf_counter()
    subprocess.run(
        [
            "podman",
            "build",
            "--isolation",
            "chroot",
            "-v",
            f"{CA_BUNDLE}:{CA_BUNDLE}:ro",
            "--build-arg",
            f"BASE_IMAGE={base}",
            "-t",
            image,
            str(ROOT),
        ],
        check=True,
    )
    return time.perf_counter() - started


def _diff_ids(image: str) -> list[str]:
    out = subprocess.run(
        ["podman", "image", "inspect", "--format", "{{json .RootFS.Layers}}", image],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return list(json.loads(out))


def _compressed_sizes(blob: IO[bytes]) -> tuple[int, int, int, str]:
    """(raw, gzip -6, zstd -3) bytes of one layer tar, and its sha256, reading it once."""
    digest = hashlib.sha256()
    gz_sink = _Counter()
    zstd = subprocess.Popen(["zstd", "-3", "-q", "-c", "-T1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert zstd.stdin is not None and zstd.stdout is not None
    zstd_bytes: list[int] = []

    def drain() -> None:
        assert zstd.stdout is not None
        total = 0
        while chunk := zstd.stdout.read(1 << 20):
            total += len(chunk)
        zstd_bytes.append(total)

    reader = threading.Thread(target=drain)
    reader.start()
    raw = 0
    with gzip.GzipFile(fileobj=gz_sink, mode="wb", compresslevel=6, mtime=0) as gz:
        while chunk := blob.read(1 << 20):
            raw += len(chunk)
            digest.update(chunk)
            gz.write(chunk)
            zstd.stdin.write(chunk)
    zstd.stdin.close()
    zstd.wait()
    reader.join()
    return raw, gz_sink.n, zstd_bytes[0], f"sha256:{digest.hexdigest()}"


class _Counter(io.RawIOBase):
    """A sink that only counts the bytes written to it."""

    def __init__(self) -> None:
        self.n = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.n += len(data)
        return len(data)


def layer_sizes(image: str, base: str) -> list[Layer]:
    """Each layer of ``image`` that ``base`` does not have: raw, gzip and zstd bytes."""
    base_ids = set(_diff_ids(base))
    with tempfile.TemporaryDirectory(prefix="ml-action-save-") as tmp:
        archive = Path(tmp) / "image.tar"
        subprocess.run(
            ["podman", "save", "--format", "docker-archive", "-o", str(archive), image], check=True, capture_output=True
        )
        with tarfile.open(archive) as tar:
            listing = tar.extractfile("manifest.json")
            assert listing is not None
            manifest = json.load(listing)
            rows = []
            for name in manifest[0]["Layers"]:
                member = tar.extractfile(name)
                assert member is not None
                raw, gz, zst, diff_id = _compressed_sizes(member)
                rows.append(Layer(diff_id, diff_id in base_ids, raw, gz, zst))
    return rows


def first_line(cmd: list[str]) -> tuple[float, float, int, str]:
    """Seconds to the first line on stdout or stderr, seconds to the exit, exit code, that line."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    first = time.perf_counter() - started
    proc.stdout.read()
    code = proc.wait()
    return first, time.perf_counter() - started, code, line.decode(errors="replace").rstrip()


def evaluate_command(image: str, work: Path) -> list[str]:
    """`mode: evaluate` on examples/iris as the runner starts a Docker action (mounts, GITHUB_*, INPUT_*)."""
    folders = {name: work / name for name in ("workspace", "file_commands", "workflow", "home")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "examples" / "iris" / "iris.csv", folders["workspace"] / "iris.csv")
    (folders["workflow"] / "event.json").write_text("{}")
    env = {
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "HOME": "/github/home",
        "GITHUB_WORKSPACE": "/github/workspace",
        "GITHUB_EVENT_PATH": "/github/workflow/event.json",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_OUTPUT": "/github/file_commands/output",
        "GITHUB_STEP_SUMMARY": "/github/file_commands/summary",
        "GITHUB_REPOSITORY": "octo/iris",
        "GITHUB_SHA": "0" * 40,
        "GITHUB_REF": "refs/heads/feature",
        "GITHUB_RUN_ID": "1",
        "INPUT_DATA": "iris.csv",
        "INPUT_TARGET": "species",
        "INPUT_MODE": "evaluate",
        "INPUT_COMMENT-MODE": "off",
    }
    cmd = [*RUN, "--workdir", "/github/workspace"]
    for name, folder in folders.items():
        target = "/github/file_commands" if name == "file_commands" else f"/github/{name}"
        cmd += ["-v", f"{folder}:{target}"]
    for key, value in env.items():
        cmd += ["-e", f"{key}={value}"]
    return [*cmd, image]


def startup(image: str, runs: int) -> dict[str, dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="ml-action-start-") as tmp:
        cases = {
            "python -c pass (floor)": [*RUN, "--entrypoint", "/opt/venv/bin/python", image, "-c", "print()"],
            "--version": [*RUN, image, "--version"],
            "evaluate (iris)": evaluate_command(image, Path(tmp)),
        }
        out: dict[str, dict[str, Any]] = {}
        for label, cmd in cases.items():
            samples = []
            for _ in range(runs):
                first, total, code, line = first_line(cmd)
                if code not in (0, 1):
                    raise RuntimeError(f"{label}: exit {code}, first line {line!r}")
                samples.append((first, total))
            out[label] = {
                "first_line_s": statistics.median(f for f, _ in samples),
                "exit_s": statistics.median(t for _, t in samples),
                "first_line_all": [round(f, 3) for f, _ in samples],
                "line": line[:100],
            }
    return out


def _sum(layers: list[Layer]) -> dict[str, int]:
    return {key: sum(getattr(layer, key) for layer in layers) for key in ("raw", "gzip", "zstd")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", default="localhost/ml-action:bench")
    parser.add_argument("--base", default=BASE)
    parser.add_argument("--build", action="store_true", help="build the image first (podman, as in the docs)")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", default="", help="also write the figures to this file")
    args = parser.parse_args()
    build_s = build(args.image, args.base) if args.build else None
    layers = layer_sizes(args.image, args.base)
    added = [layer for layer in layers if not layer.base]
    total, base = _sum(added), _sum([layer for layer in layers if layer.base])
    starts = startup(args.image, args.runs)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "build_s": build_s,
                    "layers": [asdict(x) for x in layers],
                    "added": total,
                    "base": base,
                    "startup": starts,
                },
                indent=2,
            )
        )

    print("| layers over the base | uncompressed | gzip -6 | zstd -3 |\n| --- | ---: | ---: | ---: |")
    for layer in added:
        print(
            f"| {layer.diff_id[:19]} | {layer.raw / MB:.1f} MB | {layer.gzip / MB:.2f} MB | {layer.zstd / MB:.2f} MB |"
        )
    print(
        f"| **total over the base** | {total['raw'] / MB:.1f} MB | **{total['gzip'] / MB:.1f} MB** | "
        f"**{total['zstd'] / MB:.1f} MB** |"
    )
    print(f"| the base itself | {base['raw'] / MB:.1f} MB | {base['gzip'] / MB:.1f} MB | {base['zstd'] / MB:.1f} MB |")
    print(f"\n| `podman run` (image present), median of {args.runs} | to the first line | to the exit | first line |")
    print("| --- | ---: | ---: | --- |")
    for label, row in starts.items():
        print(f"| {label} | {row['first_line_s']:.2f} s | {row['exit_s']:.2f} s | `{row['line']}` |")
    if build_s is not None:
        print(f"\nbuild: {build_s:.0f} s")


if __name__ == "__main__":
    main()
