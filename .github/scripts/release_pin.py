"""Pin the released action to the image just pushed: one line of action.yml, nothing else.

On `main`, action.yml says `image: Dockerfile`, so `uses: ./` and CI build and test the source. For a
release, .github/workflows/release.yml pushes the multi-arch image to GHCR and then runs

    python3 .github/scripts/release_pin.py --repository OWNER/NAME --digest sha256:<64 hex> action.yml

which replaces that one line with `image: docker://ghcr.io/<owner>/<name>@sha256:<digest>` (lower-cased,
as GHCR names are) and leaves every other byte of the file as it was: a line-level rewrite, not a YAML
round trip, so comments, quoting and line endings survive. The release commit and its tag then make
`uses: <owner>/ml-action@v1` pull that exact image instead of building the Dockerfile on every job.

Standard library only: it runs on the runner's own python3, before any dependency is installed.
A bad argument or an unexpected action.yml prints one `::error::` line and exits 1 without writing.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

# GitHub: a user or organisation name is 1-39 alphanumerics or single hyphens, neither first nor last.
OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
# A repository name: letters, digits, '.', '-', '_', at most 100, and not '.' or '..'.
NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
# What a registry returns for a pushed manifest (list): the sha256 of its bytes, lower-case hex.
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# The one line main carries: `image: Dockerfile` (optionally quoted, with a trailing comment), indented
# under `runs:`. Group 1 keeps the indentation and key, group 3 a trailing comment, group 4 the line end.
SOURCE_LINE = re.compile(r"""^([ \t]+image:[ \t]*)(["']?)Dockerfile\2([ \t]+#[^\r\n]*)?[ \t]*(\r?\n)?$""")
IMAGE_KEY = re.compile(r"^[ \t]+image:")


class PinError(ValueError):
    """A bad argument or an action.yml this script will not rewrite; the message says which."""


def image_reference(repository: str, digest: str) -> str:
    """`docker://ghcr.io/<owner>/<name>@sha256:...` for a validated `owner/name` and digest."""
    owner, _, name = repository.partition("/")
    if not OWNER.fullmatch(owner):
        raise PinError(f"{owner!r} is not a GitHub owner (1-39 letters, digits or single inner hyphens)")
    if not NAME.fullmatch(name) or name in (".", ".."):
        raise PinError(f"{name!r} is not a GitHub repository name (letters, digits, '.', '-', '_')")
    if not DIGEST.fullmatch(digest):
        raise PinError(f"{digest!r} is not an image digest (sha256: and 64 lower-case hex digits)")
    return f"docker://ghcr.io/{owner.lower()}/{name.lower()}@{digest}"


def pin(text: str, reference: str) -> str:
    """action.yml's text with its `image: Dockerfile` line pointing at ``reference``; nothing else changes."""
    lines = text.splitlines(keepends=True)
    runs = [i for i, line in enumerate(lines) if re.match(r"runs:[ \t]*(#.*)?\r?\n?$", line)]
    if len(runs) != 1:
        raise PinError("action.yml must have exactly one top-level `runs:` key")
    block_end = next(
        (
            i
            for i in range(runs[0] + 1, len(lines))
            if lines[i].strip() and not lines[i][0].isspace() and not lines[i].startswith("#")
        ),
        len(lines),
    )
    images = [i for i in range(runs[0] + 1, block_end) if IMAGE_KEY.match(lines[i])]
    if len(images) != 1:
        raise PinError(f"`runs:` must have exactly one `image:` line, found {len(images)}")
    match = SOURCE_LINE.match(lines[images[0]])
    if match is None:
        raise PinError(
            f"expected `image: Dockerfile` under `runs:` (the source on main), found "
            f"{lines[images[0]].strip()!r}; is this already a release commit?"
        )
    key, _, comment, end = match.groups()
    lines[images[0]] = f"{key}{reference}{comment or ''}{end or ''}"
    return "".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repository", required=True, help="OWNER/NAME, as in github.repository")
    parser.add_argument("--digest", required=True, help="the pushed manifest list's digest, sha256:<hex>")
    parser.add_argument("action_yml", type=Path, help="the file to rewrite in place (action.yml)")
    args = parser.parse_args(argv)
    try:
        reference = image_reference(args.repository, args.digest)
        raw = args.action_yml.read_bytes()
        new = pin(raw.decode("utf-8"), reference)
    except (PinError, OSError, UnicodeDecodeError) as exc:
        print(f"::error title=release_pin::{exc}".replace("\n", " "))
        return 1
    args.action_yml.write_bytes(new.encode("utf-8"))
    print(f"{args.action_yml}: image: {reference}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
