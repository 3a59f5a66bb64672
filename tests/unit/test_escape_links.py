"""Links a value could make in Markdown: GitHub parses Markdown inside an inline ``<code>`` element and turns
bare ``https://`` and ``www.`` text into links, so ``md`` and ``code`` defuse both (issue 30 item 8)."""

from __future__ import annotations

import re

from ml_action.report import escape

ATTACK = "@org/team <b>x</b> [approve](https://evil.example/x) www.evil.example"


def test_code_with_markup_characters_makes_no_link_autolink_or_mention() -> None:
    out = escape.code(ATTACK)
    assert out.startswith("<code>") and out.endswith("</code>")
    assert "[" not in out and "]" not in out  # entities: no link syntax inside the element
    assert "https://" not in out and "www.evil" not in out and "@org" not in out and "<b>" not in out
    assert out.replace(escape.WORD_JOINER, "").count("evil.example") == 2  # the text is all still there


def test_md_makes_no_autolink_and_keeps_words_that_only_look_alike() -> None:
    out = escape.md("see https://evil.example, www.evil.example and HTTP://x; awww.x stays, a:b stays")
    assert "https://" not in out and "www.evil" not in out and "HTTP://" not in out
    assert "awww.x" in out and "a:b" in out
    linked = escape.md("[a](https://e)")
    assert linked.startswith("\\[a\\]") and not re.search(r"(?<!\\)\]\(", linked)  # brackets escaped


def test_a_plain_backtick_span_is_unchanged() -> None:
    assert escape.code("https://example.com/x") == "`https://example.com/x`"  # no autolink in a code span
