"""The GitHub Actions runtime: log groups, annotations, masking, outputs and the job summary.

Built on actions-toolkit's workflow commands; outside a runner (no ``GITHUB_OUTPUT``) outputs are
printed as ``name=value`` lines so a person at a shell sees them too. The file paths and whether this is
GitHub Actions come from the ``RunContext``; nothing here reads the environment.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

from ml_action.context import RunContext


class Runner:
    """Talks to the runner through stdout workflow commands and the file commands named in ``ctx``."""

    def __init__(self, ctx: RunContext | None = None) -> None:
        self.ctx = ctx or RunContext()
        self.outputs: dict[str, str] = {}
        self._secrets: list[str] = []

    # ---------------------------------------------------------------- log
    def info(self, message: str) -> None:
        print(self.redact(message), flush=True)

    @contextlib.contextmanager
    def group(self, name: str) -> Iterator[None]:
        from actions_toolkit import core

        core.start_group(name)
        sys.stdout.flush()
        try:
            yield
        finally:
            core.end_group()
            sys.stdout.flush()

    def _annotate(self, kind: str, message: str, title: str | None) -> None:
        from actions_toolkit.command import issue_command

        props: dict[str, Any] = {"title": self.redact(title)} if title else {}
        sys.stdout.flush()
        issue_command(kind, props, self.redact(message))
        sys.stdout.flush()

    def error(self, message: str, title: str | None = None) -> None:
        self._annotate("error", message, title)

    def warning(self, message: str, title: str | None = None) -> None:
        self._annotate("warning", message, title)

    def notice(self, message: str, title: str | None = None) -> None:
        self._annotate("notice", message, title)

    # ---------------------------------------------------------------- secrets
    def mask(self, secret: str) -> None:
        """Redact ``secret`` from our own output and, under GitHub Actions, ask the runner to mask it in
        every log line (elsewhere the ``::add-mask::`` line would print the secret instead of hiding it)."""
        from actions_toolkit import core

        if secret and secret not in self._secrets:
            self._secrets.append(secret)
            if self.ctx.github_actions:
                core.set_secret(secret)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    # ---------------------------------------------------------------- outputs and summary
    def set_output(self, name: str, value: Any) -> None:
        from actions_toolkit.file_command import prepare_key_value_message

        text = value if isinstance(value, str) else ("true" if value is True else "false" if value is False
                                                     else str(value))
        text = self.redact(text)
        self.outputs[name] = text
        path = self.ctx.output_path
        if path:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(prepare_key_value_message(name, text) + "\n")

    def print_outputs(self) -> None:
        with self.group("Outputs"):
            for name, value in self.outputs.items():
                shown = value if len(value) <= 300 else value[:300] + "…"
                print(f"{name}={shown}", flush=True)

    def summary(self, markdown: str) -> None:
        path = self.ctx.summary_path
        if path:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(self.redact(markdown).rstrip() + "\n\n")
