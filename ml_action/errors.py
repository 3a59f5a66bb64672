"""The user-facing error types: what a person got wrong, which input, and how to fix it; and how a hint
reads at a shell (``--flag value``) or in a workflow (``input: value``)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Collection
from pathlib import Path


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first line of an exception's message (its type's name when the message is empty), cut at ``limit``."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__


class UserError(Exception):
    """A mistake in the user's inputs, data or registry that they can fix.

    Parameters
    ----------
    input : str
        The action input (or file) the problem is about, e.g. ``"data"``.
    problem : str
        What is wrong, one sentence without a trailing period.
    hint : str
        How to fix it, one sentence. Inputs are named as in a workflow, `` `name` `` or `` `name: value` ``;
        at a shell they read as flags (``for_shell``).
    shell_hint : str, optional
        The hint at a shell, where a translation of ``hint`` would not read well.
    """

    def __init__(self, input: str, problem: str, hint: str = "", shell_hint: str | None = None) -> None:
        self.input = input
        self.problem = problem.rstrip(".")
        self.hint = hint
        self.shell_hint = shell_hint
        super().__init__(f"{input}: {self.problem}. {hint}".strip())

    def annotation(self) -> str:
        """The message for a single ``::error title=<input>::`` line."""
        return f"{self.problem}. {self.hint}".strip()


DAMAGED_HINT = (
    "Fix or remove the object (it was not written by ml-action, or was altered), or roll back to another version."
)


class DamagedObject(UserError):
    """A registry or bundle object that does not match its schema: corrupt, hand-edited or hostile.

    ``where`` names the object (``churn/versions/v3/manifest.json``, ``the model file of version v3``); the
    message reads ``<where> is damaged: <problem>``.
    """

    def __init__(self, where: str, problem: str, hint: str = DAMAGED_HINT, input: str = "registry") -> None:
        self.where = where
        super().__init__(input, f"{where} is damaged: {problem}", hint)


class WorkspaceError(UserError):
    """A path problem: the message says where the workspace is (``cli`` adds how it was chosen)."""

    def __init__(
        self, input: str, problem: str, hint: str = "", workspace: Path | None = None, shell_hint: str | None = None
    ) -> None:
        super().__init__(input, problem, hint, shell_hint)
        self.workspace = workspace


_SHELL_SPECIAL = re.compile(r"[;|&$\s'\"*?()\\#~!{}\[\]]")
_BACKTICKED = re.compile(r"`([a-z0-9][a-z0-9-]*)(?::(?: ([^`]*))?)?`")


def for_shell(text: str, names: Collection[str]) -> str:
    """A hint written for a workflow, as a person at a shell types it: `` `to-version: v<N>` `` becomes
    `` `--to-version v<N>` `` and `` `test-size` `` becomes `` `--test-size` ``, for the input ``names`` only
    (other backticked words, e.g. a column or a YAML key inside a value, are left as they are)."""

    def flag(match: re.Match[str]) -> str:
        name, value = match.group(1), match.group(2)
        if name not in names:
            return match.group(0)
        if value and _SHELL_SPECIAL.search(value):
            value = shlex.quote(value)  # `--csv-separator ';'`: typed as shown, the shell keeps it
        return f"`--{name} {value}`" if value else f"`--{name}`"

    return _BACKTICKED.sub(flag, text)
