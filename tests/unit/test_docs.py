"""The documentation holds together: every local link in README.md and docs/*.md points at a file that
exists and, with a ``#fragment``, at a heading that exists there (GitHub's anchor rules); every page in
docs/ is reachable from the README; the README stays short enough to read."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^(```|~~~)")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^()\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks (and outside 4-space indented code after a blank line)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: Markdown links and code marks dropped, lower case, everything but
    letters, digits, spaces, hyphens and underscores removed, spaces turned into hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    parts = text.split("`")  # odd parts are code: their text is kept, HTML tags elsewhere are dropped
    text = "".join(part if i % 2 else re.sub(r"<[^>]+>", "", part) for i, part in enumerate(parts)).lower()
    text = "".join(ch for ch in text if ch.isalnum() or ch in " -_")
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every anchor of a page; a repeated heading gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    found = set()
    for line in prose_lines(page.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        found.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return found


def local_links(page: Path) -> list[str]:
    targets = []
    for line in prose_lines(page.read_text(encoding="utf-8")):
        line = re.sub(r"`[^`]*`", "", line)  # code spans are not links
        for target in LINK.findall(line):
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: ...
                targets.append(target)
    return targets


def test_slug_follows_github() -> None:
    assert slug("Monitoring production: `mode: monitor`") == "monitoring-production-mode-monitor"
    assert slug('Which test, and when a column "drifts"') == "which-test-and-when-a-column-drifts"
    assert (
        slug("MinIO, Cloudflare R2 and other S3-compatible stores")
        == "minio-cloudflare-r2-and-other-s3-compatible-stores"
    )
    assert (
        slug("What `uses: <owner>/ml-action@v1` runs: a pinned image, pulled")
        == "what-uses-ownerml-actionv1-runs-a-pinned-image-pulled"
    )
    assert slug("✅ Data checks") == "-data-checks"
    assert slug("Size <sub>small</sub>") == "size-small"


def test_headings_in_code_blocks_are_not_anchors(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n```bash\n# a comment\n```\n\n## Title\n")
    assert anchors(page) == {"title", "title-1"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_local_link_resolves(page: Path) -> None:
    broken = []
    for target in local_links(page):
        path_part, _, fragment = target.partition("#")
        dest = (page.parent / path_part).resolve() if path_part else page
        if not dest.exists():
            broken.append(f"{target}: {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest} does not exist")
            continue
        if fragment and dest.suffix == ".md" and fragment not in anchors(dest):
            broken.append(f"{target}: no heading '#{fragment}' in {dest.relative_to(ROOT)}")
    assert not broken, "\n".join(broken)


def test_every_docs_page_is_linked_from_the_readme() -> None:
    linked = {(ROOT / t.partition("#")[0]).resolve() for t in local_links(ROOT / "README.md")}
    missing = [p.name for p in PAGES[1:] if p.resolve() not in linked]
    assert not missing, f"docs pages not linked from the README: {missing}"


def test_readme_is_short_and_keeps_its_order() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme) < 20_000, f"README.md is {len(readme)} characters; move detail to docs/"
    order = [
        "Quick start in a workflow",
        "At a shell",
        "Modes",
        "How the action decides",
        "Inputs",
        "Outputs",
        "Troubleshooting",
        "Development",
    ]
    headings = [m.group(2) for line in prose_lines(readme) if (m := HEADING.match(line)) and m.group(1) == "##"]
    assert [h for h in headings if h in order] == order
    assert "![" in readme.split("## Quick start")[0], "the pitch shows the picture of a PR comment"
