"""The PR comment's text as pure functions: the hidden markers, GitHub's length, and fitting a report
under GitHub's 65,536-character limit without ever shortening the head or the footer. No network here."""

from __future__ import annotations

import re

from ml_action.errors import UserError

BODY_LIMIT = 65536
MARGIN = 1000  # characters kept free under the limit (GitHub's count differs slightly from Python's)
SHORTENED_NOTE = "> [!NOTE]\n> … details shortened, see the job summary."
_PR_MARKER = re.compile(r"<!-- ml-action:pr=(.*?) -->")


def marker(key: str) -> str:
    """The hidden marker that starts our comment or issue body (the key made safe for an HTML comment)."""
    safe = re.sub(r"[^A-Za-z0-9._/:-]+", "_", key.strip()).replace("--", "-_") or "default"
    return f"<!-- ml-action:{safe} -->"


def pr_marker(number: int) -> str:
    return f"<!-- ml-action:pr={number} -->"


def github_length(text: str) -> int:
    """Length as GitHub may count it: UTF-16 code units (an emoji counts 2), never less than ``len``."""
    return len(text.encode("utf-16-le")) // 2


def close_blocks(text: str) -> str:
    """Close a code fence or ``<details>`` left open by a cut, so the footer still renders."""
    if text.count("```") % 2:
        text += "\n```"
    text += "\n</details>" * max(0, text.count("<details") - text.count("</details>"))
    return text


def _cut(text: str, budget: int) -> str:
    """At most ``budget`` characters of ``text`` (blocks closed), cut at a line end when one is near."""
    size = budget
    while size > 0:
        part = text[:size]
        newline = part.rfind("\n")
        if newline > size // 2:
            part = part[:newline]
        out = close_blocks(part.rstrip())
        over = github_length(out) - budget
        if over <= 0:
            return out
        size -= over + 16
    return ""


def fit_comment(head: str, details: list[str], footer: str, limit: int = BODY_LIMIT, key: str | None = None) -> str:
    """The comment body: [marker] + head + details + footer, within ``limit`` less a safety margin.

    When too long, details are shortened from the last one backwards (the last kept one may be cut at a
    line, with open code fences and ``<details>`` closed) and a note points to the job summary. The head
    (verdict, comparison table, gates) and the footer (link to the run) are never shortened, unless head and
    footer alone exceed the limit: then the head is cut too, since a 422 would mean no comment at all.
    With ``key`` the marker is put first; ``upsert_comment`` adds it anyway when missing.
    """
    sep = "\n\n"
    budget = max(1000, limit - min(MARGIN, limit // 10))
    top = [marker(key)] if key else []
    full = sep.join([*top, head, *details, footer])
    if github_length(full) <= budget:
        return full
    fixed = github_length(sep.join([*top, head, SHORTENED_NOTE, footer]))
    room = budget - fixed
    if room < 0:  # head + footer alone too long: last resort, cut the head
        cut_head = _cut(head, budget - github_length(sep.join([*top, "", SHORTENED_NOTE, footer])))
        return sep.join([*top, cut_head, SHORTENED_NOTE, footer])
    kept: list[str] = []
    for part in details:
        size = github_length(part) + len(sep)
        if size <= room:
            kept.append(part)
            room -= size
            continue
        cut = _cut(part, room - len(sep))
        if cut.strip():
            kept.append(cut)
        break
    return sep.join([*top, head, *kept, SHORTENED_NOTE, footer])


def with_marker(body: str, key: str) -> str:
    mark = marker(key)
    return body if body.lstrip().startswith(mark) else f"{mark}\n{body}"


def is_ours(body: str | None, key: str) -> bool:
    return bool(body) and body.lstrip().startswith(marker(key))  # type: ignore[union-attr]


def read_comment_file(text: str) -> tuple[str, int | None]:
    """The body without our markers, and the PR number embedded by ``post_or_save`` (``None`` when absent)."""
    found = _PR_MARKER.search(text)
    number: int | None = None
    if found:
        raw = found.group(1)
        if not re.fullmatch(r"[1-9][0-9]{0,9}", raw):
            raise UserError(
                "comment-file",
                f"the embedded PR number '{raw[:20]}' is not a positive integer",
                "Use the file written by ml-action, or set `pr-number`.",
            )
        number = int(raw)
    body = _PR_MARKER.sub("", text)
    body = re.sub(r"^\s*(<!-- ml-action:[^>]*-->\s*)+", "", body)
    return body.strip() + "\n", number
