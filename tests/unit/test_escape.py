"""Escaping of untrusted text (``escape``) and the Runner as the one stdout writer: no line from data can
start a workflow command, Markdown from data renders as plain text, outputs are never redacted, the job
summary stays under GitHub's limit, and a long fit prints a heartbeat."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from ml_action.adapters.runner import SUMMARY_LIMIT, Runner
from ml_action.context import RunContext
from ml_action.report import escape

PAYLOADS = [
    "x\n::warning::forged",
    "x\r::error::forged",
    "  ::add-mask::x",
    "\t::stop-commands::tok",
    "\u00a0::set-output name=a::b",
    "\u2003::error::x",
    "\x1b[31m::error::x",
    "a ##[error]forged",
    "\u200b::error::x",
    "x\r\n  ::group::g",
]


def commands(out: str) -> list[str]:
    """The lines the runner would take for a workflow command (its split and its trim, a little wider)."""
    return [
        line for line in re.split(r"\r\n|\r|\n", out) if escape._runner_strip(line).startswith("::") or "##[" in line
    ]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_log_lines_never_start_a_command(payload: str) -> None:
    out = "\n".join(escape.log_lines(f"label {payload}\n{payload}"))
    assert commands(out) == []
    assert "forged" in out or "::" in out  # still shown, only neutralised


def test_visible_writes_control_characters_as_escapes() -> None:
    assert escape.visible("a\nb\rc\x1bd\u2028e") == "a\\nb\\rc\\x1bd\\u2028e"
    assert escape.visible("plain text · ünïcode") == "plain text · ünïcode"


def test_clip_marks_the_cut() -> None:
    assert escape.clip("x" * 10, 20) == "x" * 10
    assert escape.clip("x" * 1000, 20) == "x" * 20 + "… [980 more characters]"
    assert len(escape.md("y" * 50_000_000)) < 400


def test_md_renders_as_plain_text() -> None:
    text = escape.md("@org/team </details> a|b *bold* [link](http://x) _i_ \\ \n# h")
    assert "@org" not in text and "@\u2060org" in text
    assert "<" not in text and "&lt;/details&gt;" in text
    assert "\\|" in text and "\\*bold\\*" in text and "\\[link\\]" in text and "\\_i\\_" in text
    assert "\n" not in text


def test_code_is_safe_in_a_table_cell() -> None:
    assert escape.code("plain_name") == "`plain_name`"
    for value in ["a|b", "a`b", "x\n</details>", " padded ", ""]:
        out = escape.code(value)
        assert "|" not in out and "\n" not in out and "</details>" not in out
        assert out.startswith("<code>") and out.endswith("</code>")
    assert "@" not in escape.code("@org|x")


def test_mermaid_label_cannot_close_its_string_or_fence() -> None:
    label = escape.mermaid('a"b\n```\n%%{init}%% ' + "z" * 100)
    assert '"' not in label and "`" not in label and "\n" not in label and "%" not in label
    assert len(label) < 80


def test_label_is_inert_code_cut_short() -> None:
    assert escape.label("c07") == "`c07`"
    assert escape.label("class 0 | `tick` q") == "<code>class 0 &#124; 'tick' q</code>"  # quotes left as they are
    assert escape.label("@org") == "<code>&#64;org</code>"
    assert escape.label("") == "_(empty)_" and escape.label(" \n ") == "_(empty)_"
    assert escape.label("a" * 200) == "`" + "a" * 29 + "…`"
    assert escape.label("a\n\r\nb", 30) == "`a b`"  # a run of line breaks is one space
    # hidden characters beyond C0 controls: a bidi override, a zero-width space, NEL, a byte-order mark
    assert escape.label("ab\u202edc\u200bx\x85y\ufeffz") == "`ab dc x y z`"


def test_label_html_is_always_code() -> None:
    assert escape.label_html("yes") == "<code>yes</code>"
    assert escape.label_html('a|b "q" `x` @o') == "<code>a&#124;b &quot;q&quot; &#x27;x&#x27; &#64;o</code>"
    assert escape.label_html("x" * 40, 10) == "<code>" + "x" * 9 + "…</code>"


def test_code_text_fits_inside_our_backticks() -> None:
    assert escape.code_text("'a|b`c'\n") == "'a¦b'c'"
    assert escape.code_text("z" * 100) == "z" * 79 + "…"
    assert escape.code_text("x\u202ey\u2028z") == "x y z"


def test_mermaid_label_is_one_short_line() -> None:
    assert escape.mermaid("line\nbreak") == "line break"
    assert escape.mermaid("a" * 100, 60) == "a" * 59 + "…"
    assert escape.mermaid("<b>#quot; 50% {x}; a\\b\u202e") == "'b''quot' 50' 'x'' a'b"
    assert escape.mermaid("v12") == "v12"


def test_clip_strings_clips_keys_and_values() -> None:
    out = escape.clip_strings({"k" * 500: ["v" * 500, 1, None], "ok": {"n": 2.5}}, 10)
    assert out == {
        "k" * 10 + "… [490 more characters]": ["v" * 10 + "… [490 more characters]", 1, None],
        "ok": {"n": 2.5},
    }


# ---------------------------------------------------------------------------------------------- Runner


def test_runner_neutralises_data_but_not_its_own_commands(capsys: pytest.CaptureFixture[str]) -> None:
    runner = Runner(RunContext(github_actions=True))
    runner.mask("s3cret")
    with runner.group("Stage\n::error::in a group name"):
        runner.info("head\nlabel x\n::warning::forged\n  ::error::forged s3cret")
        runner.warning("message\n::error::inside", title="title: with, commas\n::x::")
    out = capsys.readouterr().out
    lines = out.splitlines()
    ours = [line for line in lines if line.startswith("::")]
    assert [line.split("::")[1].split(" ")[0] for line in ours] == ["add-mask", "group", "warning", "endgroup"]
    assert ours[2] == ("::warning title=title%3A with%2C commas%0A%3A%3Ax%3A%3A::message%0A::error::inside")
    assert commands("\n".join(line for line in lines if not line.startswith("::"))) == []
    assert "s3cret" not in out.replace("::add-mask::s3cret", "")
    assert "› ::warning::forged" in lines


def test_outputs_are_never_redacted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "out"
    runner = Runner(RunContext(output_path=str(output)))
    runner.mask("pass")
    runner.set_output("verdict", "pass")
    runner.info("verdict: pass")
    assert runner.outputs["verdict"] == "pass"
    assert "\npass\n" in output.read_text()
    assert "verdict: ***" in capsys.readouterr().out


def test_printed_outputs_are_one_neutralised_line_each(capsys: pytest.CaptureFixture[str]) -> None:
    runner = Runner(RunContext())
    runner.set_output("report-path", "r.md\n::error::forged")
    runner.print_outputs()
    out = capsys.readouterr().out
    assert "report-path=r.md\\n::error::forged" in out.splitlines()


def test_summary_is_capped_at_one_mebibyte(tmp_path: Path) -> None:
    summary = tmp_path / "summary"
    runner = Runner(RunContext(summary_path=str(summary)))
    runner.summary("# head\n\n<details><summary>big</summary>\n\n```\n" + "line of text\n" * 200_000)
    runner.summary("more that no longer fits")
    text = summary.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) <= SUMMARY_LIMIT
    assert "cut at GitHub's limit of 1 MiB" in text and "more that no longer fits" not in text
    assert text.count("```") % 2 == 0 and text.count("<details") == text.count("</details>")


def test_heartbeat_prints_while_the_work_runs(capsys: pytest.CaptureFixture[str]) -> None:
    runner = Runner(RunContext(), heartbeat_seconds=0.01)
    beat = threading.Event()
    original = runner.info

    def info(message: str) -> None:
        original(message)
        if message.startswith("still fitting"):
            beat.set()

    runner.info = info  # type: ignore[method-assign]
    with runner.heartbeat("fitting"):
        assert beat.wait(60)  # the work "runs" until the heartbeat has been printed
    out = capsys.readouterr().out
    assert re.search(r"^still fitting … \d+ s$", out, flags=re.M)


def test_python_warnings_go_through_the_runner(capsys: pytest.CaptureFixture[str]) -> None:
    import warnings

    runner = Runner(RunContext())
    with runner.capture_warnings(), warnings.catch_warnings():
        warnings.simplefilter("always")
        with runner.capture_warnings():
            warnings.warn("column 'a\n::error::forged' is odd", UserWarning, stacklevel=1)
    captured = capsys.readouterr()
    assert "UserWarning: column 'a\\n::error::forged' is odd" in captured.out
    assert commands(captured.out) == [] and captured.err == ""
