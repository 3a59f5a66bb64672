"""The GitHub Actions runtime: log groups, annotations, masking, outputs and the job summary.

The only writer to stdout in ml-action (``_emit``). Our own workflow commands (groups, annotations,
``add-mask``) are built here with actions-toolkit's escaping; every other line goes through
``escape.log_lines`` so text from data or the registry can never start a workflow command. Secrets are
redacted from free text (log, summary, report, comment), never from outputs. Outside a runner (no
``GITHUB_OUTPUT``) outputs are printed as ``name=value`` lines so a person at a shell sees them too. The file
paths and whether this is GitHub Actions come from the ``RunContext``; nothing here reads the environment.

At a terminal (``cli`` passes ``terminal``: never under Actions) the same events are shown for a person by
``ml_action.adapters.terminal`` instead of as workflow commands; the text is made safe here first either way.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ml_action.context import RunContext
from ml_action.report import escape

if TYPE_CHECKING:
    from ml_action.adapters.terminal import Terminal

SUMMARY_LIMIT = 1024 * 1024  # GitHub's limit for the job summary of one step, in bytes
SUMMARY_MARGIN = 4096  # room kept for the truncation note
SUMMARY_TRUNCATED = (
    "\n\n> [!WARNING]\n> The job summary was cut at GitHub's limit of 1 MiB per step; "
    "the full report is in the file named by the `report-path` output.\n"
)
HEARTBEAT_SECONDS = 30.0
ANNOTATION_LIMIT = 4000  # characters of one ::error/::warning/::notice message, before escaping


class Runner:
    """Talks to the runner through stdout workflow commands and the file commands named in ``ctx``."""

    def __init__(
        self,
        ctx: RunContext | None = None,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        terminal: Terminal | None = None,
    ) -> None:
        self.ctx = ctx or RunContext()
        self.terminal = None if self.ctx.github_actions else terminal
        self.outputs: dict[str, str] = {}
        self.heartbeat_seconds = heartbeat_seconds
        self._secrets: list[str] = []
        self._lock = threading.Lock()
        self._summary_bytes = 0
        self._summary_full = False

    # ---------------------------------------------------------------- the one stdout writer
    def _emit(self, lines: list[str]) -> None:
        with self._lock:
            sys.stdout.flush()
            sys.stdout.write("".join(line + "\n" for line in lines))
            sys.stdout.flush()

    def _command(self, name: str, message: str, props: dict[str, Any] | None = None) -> None:
        """One workflow command of ours; actions-toolkit escapes ``%``, ``\\r``, ``\\n`` (and ``:`` ``,`` in
        properties), so the message stays on this one line whatever it holds."""
        from actions_toolkit.command import Command

        self._emit([str(Command(name, props or {}, message))])

    # ---------------------------------------------------------------- log
    def info(self, message: str) -> None:
        """Free text, possibly with values from data: redacted, and no line can start a workflow command."""
        lines = escape.log_lines(self.redact(str(message)))
        if self.terminal is not None:
            with self._lock:
                self.terminal.line("\n".join(lines))
            return
        self._emit(lines)

    def markdown(self, text: str) -> None:
        """A report head (Markdown our templates made, data escaped in it): rendered at a terminal, else ``info``."""
        if self.terminal is None:
            self.info(text)
            return
        with self._lock:
            self.terminal.markdown("\n".join(escape.log_lines(self.redact(text))))

    @contextlib.contextmanager
    def group(self, name: str) -> Iterator[None]:
        if self.terminal is not None:
            with self._lock:
                self.terminal.begin(escape.visible(self.redact(name)))
            try:
                yield
            finally:
                with self._lock:
                    self.terminal.end()
            return
        self._command("group", escape.visible(self.redact(name)))
        try:
            yield
        finally:
            self._command("endgroup", "")

    def _annotate(self, kind: str, message: str, title: str | None) -> None:
        message = escape.clip(message, ANNOTATION_LIMIT)  # a value inside may be any size (a YAML bomb's list)
        title = escape.clip(title, 200) if title else title
        if self.terminal is not None:
            with self._lock:
                self.terminal.annotation(
                    kind,
                    "\n".join(escape.log_lines(self.redact(message))),
                    escape.visible(self.redact(title)) if title else None,
                )
            return
        props: dict[str, Any] = {"title": self.redact(title)} if title else {}
        self._command(kind, self.redact(message), props)

    def error(self, message: str, title: str | None = None) -> None:
        self._annotate("error", message, title)

    def warning(self, message: str, title: str | None = None) -> None:
        self._annotate("warning", message, title)

    def notice(self, message: str, title: str | None = None) -> None:
        self._annotate("notice", message, title)

    @contextlib.contextmanager
    def capture_warnings(self) -> Iterator[None]:
        """Python warnings (e.g. from scikit-learn, naming columns) go through ``info`` instead of stderr."""

        def show(
            message: Any, category: type[Warning], filename: str, lineno: int, file: Any = None, line: str | None = None
        ) -> None:
            self.info(f"{category.__name__}: {escape.visible(message, 1000)}")

        saved = warnings.showwarning
        warnings.showwarning = show
        try:
            yield
        finally:
            warnings.showwarning = saved

    @contextlib.contextmanager
    def heartbeat(self, what: str) -> Iterator[None]:
        """While the block runs, print ``still <what> … N s`` every ``heartbeat_seconds`` (a daemon thread)."""
        stop = threading.Event()
        started = time.monotonic()

        def beat() -> None:
            while not stop.wait(self.heartbeat_seconds):
                if self.terminal is not None:  # the spinner's text, not a line
                    with self._lock:
                        self.terminal.still(escape.visible(what), time.monotonic() - started)
                    continue
                self.info(f"still {what} … {time.monotonic() - started:.0f} s")

        thread = threading.Thread(target=beat, name="ml-action-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def finish(self, code: int) -> None:
        """At a terminal, a last line with the verdict and the report's path (nothing under Actions)."""
        if self.terminal is not None:
            with self._lock:
                self.terminal.close()
                self.terminal.verdict(code, {k: escape.visible(self.redact(v)) for k, v in self.outputs.items()})

    # ---------------------------------------------------------------- secrets
    def mask(self, secret: str) -> None:
        """Redact ``secret`` from our own output and, under GitHub Actions, ask the runner to mask it in
        every log line (elsewhere the ``::add-mask::`` line would print the secret instead of hiding it)."""
        if secret and secret not in self._secrets:
            self._secrets.append(secret)
            if self.ctx.github_actions:
                self._command("add-mask", secret)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    # ---------------------------------------------------------------- outputs and summary
    def set_output(self, name: str, value: Any) -> None:
        """Set an output as it is: outputs carry no secrets by construction, so nothing is redacted (a short
        secret such as ``pass`` must not turn ``verdict=pass`` into ``verdict=***``)."""
        from actions_toolkit.file_command import prepare_key_value_message

        text = (
            value
            if isinstance(value, str)
            else ("true" if value is True else "false" if value is False else str(value))
        )
        self.outputs[name] = text
        path = self.ctx.output_path
        if path:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(prepare_key_value_message(name, text) + "\n")

    def print_outputs(self) -> None:
        if self.terminal is not None:  # in full: a person reads them here, there is no step output
            with self._lock:
                self.terminal.outputs({k: escape.visible(self.redact(v), 4000) for k, v in self.outputs.items()})
            return
        with self.group("Outputs"):
            for name, value in self.outputs.items():
                self._emit(escape.log_lines(f"{name}={escape.visible(value)}"))

    def summary(self, markdown: str) -> None:
        """Append to the job summary (redacted), at most 1 MiB per step in all; a cut says so."""
        path = self.ctx.summary_path
        if not path or self._summary_full:
            return
        text = self.redact(markdown).rstrip() + "\n\n"
        data = text.encode("utf-8")
        room = SUMMARY_LIMIT - SUMMARY_MARGIN - self._summary_bytes
        if len(data) > room:
            from ml_action.report.comment import close_blocks

            cut = data[: max(0, room)].decode("utf-8", errors="ignore")
            cut = cut[: cut.rfind("\n")] if "\n" in cut else ""
            text = close_blocks(cut.rstrip()) + SUMMARY_TRUNCATED
            data = text.encode("utf-8")
            self._summary_full = True
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text)
        self._summary_bytes += len(data)
