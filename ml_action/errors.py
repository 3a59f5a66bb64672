"""The user-facing error type: what a person got wrong, which input, and how to fix it."""

from __future__ import annotations


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
        How to fix it, one sentence.
    """

    def __init__(self, input: str, problem: str, hint: str = "") -> None:
        self.input = input
        self.problem = problem.rstrip(".")
        self.hint = hint
        super().__init__(f"{input}: {self.problem}. {hint}".strip())

    def annotation(self) -> str:
        """The message for a single ``::error title=<input>::`` line."""
        return f"{self.problem}. {self.hint}".strip()
