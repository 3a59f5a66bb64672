"""Text that did not come from our code (data, pull request, registry), made safe for where it goes.

One module, one function per destination:

- ``clip``: at most ``limit`` characters, with a marker saying how much was cut (every function clips but the
  short labels below, which cut with ``…``).
- ``visible``: one line, control characters and line breaks written as visible escapes (``\\n``, ``\\x1b``).
- ``log_line``: a line for stdout that the Actions runner cannot take for a workflow command. The runner
  (``ActionCommandManager``) runs a line whose start, after .NET ``TrimStart``, is ``::`` (``TryParseV2``)
  and a line containing ``##[`` anywhere (``TryParse``, the old syntax); it splits its input at ``\\r`` and
  ``\\n``. Such lines get a visible prefix / a space after ``##``; our own commands never go through here.
- ``md``: inline Markdown text (names, values, notes): backslash-escapes, ``|`` escaped for table cells,
  ``<``/``>``/``&`` as entities (no HTML, no ``</details>``), ``@`` mentions and GFM autolinks
  (``https://``, ``www.``) broken by a word joiner.
- ``code``: a value shown as code, safe in a table cell too (a backtick span, or ``<code>`` with entities when
  the value holds a backtick, ``|``, ``<``, ``>``, ``&`` or ``@``, so no raw ``</details>`` is ever written;
  Markdown is parsed inside that element, so brackets are entities and autolinks broken there too).
- ``label``: a short label from the data (a class name) as inline code in a table cell: cut with ``…``,
  ``_(empty)_`` when empty; ``label_html`` the same inside an HTML element (``<summary>``), always ``<code>``.
- ``code_text``: text for inside a backtick span that a template writes (a search's parameter values).
- ``mermaid``: a label inside a quoted Mermaid string in a fenced block.
- ``clip_strings``: every string in a JSON-like structure clipped (what the manifest stores).
- ``shown``: an untrusted value inside an error message: JSON, ASCII, one line, at most 40 characters.

Short labels (``label``, ``label_html``, ``code_text``, ``mermaid``) are one line with every hidden character
(controls, format characters such as bidi overrides and zero-width spaces, line separators) written as a
space, backticks as ``'``, trimmed and cut to their limit with ``…``: a column header or a chart label has no
room for ``clip``'s marker.
"""

from __future__ import annotations

import html
import itertools
import json
import re
import unicodedata
from typing import Any

LIMIT = 300  # characters of one value in a report, a log line or the manifest
LABEL_LIMIT = 30  # characters of a class name in a table header or a cell
COMMAND_PREFIX = "› "  # shown before a data line that would otherwise start with ``::``
_BREAKS = re.compile(r"\r\n|\r|\n")
_MD_SPECIAL = re.compile(r"([\\*~\[\]|#])")
# a run of "_" inside a word never starts emphasis in GFM, so ``model__max_depth`` stays as it is
_LOOSE_UNDERSCORES = re.compile(r"(?<![A-Za-z0-9_])_+|_+(?![A-Za-z0-9_])")
_MENTION = re.compile(r"@(?=\w)")
# GFM's autolinks (``https://…``, ``www.…``) are found in text, also inside an inline ``<code>`` element
_AUTOLINK = re.compile(r"(?i)(?<=[a-z0-9])(?=://)|(?<=\bwww)(?=\.)")
WORD_JOINER = "\u2060"
_NOT_IN_BACKTICKS = re.compile(r"[`|<>&@]")  # such values are shown as <code> with entities instead
_NOT_IN_MERMAID = re.compile(r"[\"`<>%#;{}\\]")  # quotes, markup, entity codes (#quot;), comments (%%)


def clip(value: Any, limit: int = LIMIT) -> str:
    """``value`` as text of at most about ``limit`` characters; a cut says how many characters it dropped."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit:,} more characters]"


def _escape_char(ch: str) -> str:
    if ch == "\n":
        return "\\n"
    if ch == "\r":
        return "\\r"
    if ch == "\t":
        return "\\t"
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _hidden(ch: str) -> bool:
    """Control, format and line/paragraph separator characters: never printed as they are."""
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") and ch != WORD_JOINER


def visible(value: Any, limit: int = LIMIT) -> str:
    """One line: clipped, then line breaks and other control characters written as visible escapes."""
    text = clip(value, limit)
    if text.isprintable():
        return text
    return "".join(_escape_char(ch) if _hidden(ch) else ch for ch in text)


def _runner_strip(line: str) -> str:
    """The line as the runner tests it, stripped a little more than .NET ``TrimStart`` does (never less)."""
    i = 0
    while i < len(line) and (line[i].isspace() or unicodedata.category(line[i]) in ("Zs", "Cc", "Cf")):
        i += 1
    return line[i:]


def log_line(line: str) -> str:
    """One line (no ``\\r``/``\\n`` in it) that cannot start a workflow command."""
    if not line.isprintable():
        line = "".join(_escape_char(ch) if _hidden(ch) and ch != "\t" else ch for ch in line)
    if "##[" in line:
        line = line.replace("##[", "## [")
    if _runner_strip(line).startswith("::"):
        line = COMMAND_PREFIX + line
    return line


def log_lines(text: str) -> list[str]:
    """``text`` split where the runner splits it, each line made safe with ``log_line``."""
    return [log_line(part) for part in _BREAKS.split(text)]


def md(value: Any, limit: int = LIMIT) -> str:
    """Inline Markdown that renders as the plain text of ``value`` (one line, clipped)."""
    text = visible(value, limit)
    text = html.escape(text, quote=False)  # & < > : no HTML element, no </details>
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _LOOSE_UNDERSCORES.sub(lambda m: "\\_" * len(m.group(0)), text)
    return _AUTOLINK.sub(WORD_JOINER, _MENTION.sub("@" + WORD_JOINER, text))


def code(value: Any, limit: int = LIMIT) -> str:
    """``value`` as inline code, safe anywhere, including a table cell."""
    text = visible(value, limit)
    if text and not _NOT_IN_BACKTICKS.search(text) and text.strip() == text:
        return f"`{text}`"
    return _code_element(text)


def _code_element(text: str, quote: bool = True) -> str:
    """``<code>`` with ``& < >`` (and with ``quote`` the quotes), ``|`` and ``@`` as entities: no HTML, no
    column break, no mention."""
    text = html.escape(text, quote=quote).replace("|", "&#124;").replace("@", "&#64;")
    # Markdown is parsed inside an inline HTML element: no link (brackets as entities), no autolink
    return "<code>" + _AUTOLINK.sub(WORD_JOINER, text.replace("[", "&#91;").replace("]", "&#93;")) + "</code>"


def _short(value: Any, limit: int) -> str:
    """One short line: each run of hidden characters one space, backticks as ``'``, trimmed, at most
    ``limit`` characters (a cut ends with ``…``)."""
    text = value if isinstance(value, str) else str(value)
    if not text.isprintable():
        text = "".join(" " if hidden else "".join(run) for hidden, run in itertools.groupby(text, _hidden))
    text = text.replace("`", "'").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def label(value: Any, limit: int = LABEL_LIMIT) -> str:
    """A label from the data as inert inline code for a table cell: in backticks when that is safe, else in
    ``<code>`` with entities as ``code`` writes it (quotes left as they are); ``_(empty)_`` when empty."""
    text = _short(value, limit)
    if not text:
        return "_(empty)_"
    if not _NOT_IN_BACKTICKS.search(text):
        return f"`{text}`"
    return _code_element(text, quote=False)


def label_html(value: Any, limit: int = LABEL_LIMIT) -> str:
    """A label from the data as ``<code>`` inside an HTML element such as ``<summary>``, where Markdown is
    not rendered (so never backticks)."""
    return _code_element(_short(value, limit))


def code_text(value: Any, limit: int = 80) -> str:
    """Text for inside a backtick span a template writes, in a table cell or a line: one short line, no
    backtick, ``|`` as ``¦`` (a backslash would show outside a table)."""
    return _short(value, limit).replace("|", "¦")


def mermaid(value: Any, limit: int = 40) -> str:
    """A label for a quoted Mermaid string: one short line, no quote, backtick, or markup characters."""
    return _NOT_IN_MERMAID.sub("'", _short(value, limit))


def clip_strings(obj: Any, limit: int = LIMIT) -> Any:
    """A copy of a JSON-like structure with every string (keys too) clipped to ``limit`` characters."""
    if isinstance(obj, str):
        return clip(obj, limit)
    if isinstance(obj, dict):
        return {clip_strings(k, limit): clip_strings(v, limit) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clip_strings(v, limit) for v in obj]
    return obj


def shown(value: Any, limit: int = 40) -> str:
    """A short, single-line rendering of an untrusted value for a message (never its raw text)."""
    text = json.dumps(value, ensure_ascii=True, default=str)
    return text if len(text) <= limit else text[:limit] + "…"
