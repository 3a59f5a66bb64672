"""Output for a person at a terminal, with ``rich``: coloured stage headings with a spinner while a stage
runs, annotations as coloured ``error:``/``warning:``/``notice:`` lines, the report's Markdown rendered, the
outputs in full and a short final verdict with the report's path.

``Runner`` owns stdout and decides (``wanted``) whether to hand its lines to a ``Terminal``: never under
GitHub Actions, and elsewhere only when stdout is a terminal or ``ML_ACTION_PRETTY``/``FORCE_COLOR`` asks for
it (``NO_COLOR`` keeps the layout without colours). Piped or under Actions, the workflow commands are
printed as they always were. ``rich`` is imported here only, so the Action never loads it.

Every text this prints has been made safe by the runner first (redacted, control characters as visible
escapes); it is handed to rich as ``Text`` (never parsed as rich markup, no ``:emoji:`` codes), and the
Markdown renderer shows HTML as text.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import IO, Any

STYLES = {"error": "bold red", "warning": "bold yellow", "notice": "bold cyan"}
OFF = ("0", "false", "no", "off")


def wanted(env: Mapping[str, str], stream: IO[str], github_actions: bool) -> bool:
    """Print for a person? Not under Actions; at a terminal, or when ``ML_ACTION_PRETTY``/``FORCE_COLOR``
    forces it (``ML_ACTION_PRETTY=0`` turns it off); only when ``rich`` is installed."""
    if github_actions:
        return False
    pretty = env.get("ML_ACTION_PRETTY", "").strip().lower()
    if pretty in OFF and pretty:
        return False
    forced = bool(pretty) or bool(env.get("FORCE_COLOR", "").strip())
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    if not (forced or tty):
        return False
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


class Terminal:
    """Renders the runner's events with rich on ``stream``; one per run."""

    def __init__(self, stream: IO[str], env: Mapping[str, str]) -> None:
        from rich.console import Console

        self.console = Console(
            file=stream,
            markup=False,
            emoji=False,
            highlight=False,
            soft_wrap=False,
            no_color=bool(env.get("NO_COLOR")),
            force_terminal=True if not stream.isatty() else None,
        )
        self._status: Any = None
        self._stages: list[tuple[str, float]] = []
        self._animate = stream.isatty()  # forced onto a pipe or file: the same layout, no spinner frames

    def _text(self, text: str, style: str = "") -> Any:
        from rich.text import Text

        return Text(text, style=style)

    def line(self, text: str) -> None:
        self.console.print(self._text(text))

    def begin(self, name: str) -> None:
        """A stage heading, and a spinner naming the stage until it ends (nested stages: headings only)."""
        self._stages.append((name, time.monotonic()))
        self.console.print(self._text(f"▶ {name}", "bold blue"))
        if len(self._stages) == 1 and self._animate:
            self._status = self.console.status(self._text(f"{name} …"), spinner="dots")
            self._status.start()

    def end(self) -> None:
        name, started = self._stages.pop()
        if not self._stages and self._status is not None:
            self._status.stop()
            self._status = None
        self.console.print(self._text(f"  ✓ {name} ({time.monotonic() - started:.1f} s)", "dim"))

    def still(self, what: str, seconds: float) -> None:
        """The heartbeat: the spinner says how long the work has taken (no extra line)."""
        if self._status is not None:
            self._status.update(self._text(f"{self._stages[0][0]}: still {what} … {seconds:.0f} s"))
        else:
            self.console.print(self._text(f"still {what} … {seconds:.0f} s", "dim"))

    def annotation(self, kind: str, message: str, title: str | None) -> None:
        from rich.text import Text

        text = Text.assemble((f"{kind}:", STYLES.get(kind, "bold")), " ")
        if title:
            text.append(f"{title}: ", style="bold")
        text.append(message)
        self.console.print(text)

    def markdown(self, text: str) -> None:
        """A report head: headings, tables and emphasis rendered (raw HTML such as ``<sub>`` shown as text)."""
        from rich.markdown import Markdown

        self.console.print(Markdown(text, hyperlinks=False))

    def outputs(self, outputs: Mapping[str, str]) -> None:
        from rich.table import Table

        table = Table(title="Outputs", title_justify="left", show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        for name, value in outputs.items():
            table.add_row(self._text(name), self._text(value))
        self.console.print(table)

    def verdict(self, code: int, outputs: Mapping[str, str]) -> None:
        """The last line: what happened, and where the report is."""
        verdict = outputs.get("verdict")
        word, style = (
            ("passed", "bold green")
            if code == 0 and verdict != "fail"
            else ("failed", "bold red")
            if code == 1
            else ("crashed", "bold red")
        )
        if code == 0 and verdict == "fail":
            word, style = "gates failed (not fatal: fail-on-gate is off)", "bold yellow"
        text = self._text(f"ml-action {word}", style)
        details = [f"{k} {outputs[k]}" for k in ("model-version", "champion-version") if outputs.get(k)]
        if outputs.get("promoted") == "true":
            details.append("promoted")
        if details:
            text.append(" · " + " · ".join(details))
        if outputs.get("report-path"):
            text.append(" · report: ")
            text.append(outputs["report-path"], style="underline")
        self.console.rule(style=style.split()[-1])
        self.console.print(text)

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
