"""The one compare-and-swap loop that moves a pointer object (``champion.json``, ``aliases/<name>.json``).

Each attempt reads the pointer and its token; when the token is new since the last look, it first writes
the event the pointer names (repairing a run killed between its swap and its event) and asks ``decide``
again, so a pointer that changed under us is never overwritten blindly. Then it builds the new pointer and
replaces the object only if it still has that token; a ``Conflict`` starts the next attempt and records the
version that was in the way. On a store whose conditions may be ignored (``s3-conditional-writes:
unsupported``) it reads the object back to detect a lost swap. After the swap it writes the new pointer's
event, create-only, so an event is never written twice. ``Registry.swap_champion`` and
``AliasesMixin.swap_alias`` are this loop with their own pointer, event and outcome.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ml_action.adapters.registry.store import AlreadyExists, Conflict
from ml_action.errors import UserError

if TYPE_CHECKING:
    from ml_action.adapters.registry.store import ObjectStore

MAX_ATTEMPTS = 20
Pointer = dict[str, Any]
Decide = Callable[[Pointer | None], tuple[bool, str]]


@dataclass(frozen=True)
class Swapped:
    """How one compare-and-swap ended.

    ``swapped``: the new pointer was written (``pointer`` is it). Otherwise ``pointer`` is the live one that
    stopped us: the one ``decide`` refused, the one already saying what was asked (``reason`` says which),
    or with ``lost`` the one found instead of ours after an unconditioned write (``{}``: none, ``None``: not
    parsed). ``previous`` is the version the written (or lost) pointer replaced; ``conflicts`` the versions
    that were in the way of earlier attempts (``none`` for an absent pointer).
    """

    swapped: bool
    pointer: Pointer | None
    previous: str | None = None
    reason: str = ""
    conflicts: list[str] = field(default_factory=list)
    lost: bool = False


def event_name(version: str, reason: str) -> str:
    """A new event file name: ``<timestamp>-<version>-<reason>-<6 hex>.json`` (unique, sorted by time)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{version}-{reason}-{secrets.token_hex(3)}.json"


def write_event(store: ObjectStore, key: str, event: dict[str, Any]) -> None:
    """Write an event create-only: a second attempt (a repair) finds it and is a no-op."""
    try:
        store.create(key, json.dumps(event, sort_keys=True, default=str).encode())
    except AlreadyExists:
        pass


def swap_pointer(
    store: ObjectStore,
    key: str,
    *,
    read: Callable[[], tuple[Pointer | None, str | None]],
    decide: Decide,
    build: Callable[[Pointer | None], Pointer | str],
    record: Callable[[Pointer], None],
    unchecked: bool,
    exhausted: tuple[str, str],
    live: Callable[[Pointer | None], Pointer | None] = lambda pointer: pointer,
    parse: Callable[[bytes], Pointer] | None = None,
) -> Swapped:
    """Replace the pointer at ``key`` by compare-and-swap.

    ``read()`` gives the stored pointer (tombstones included) and its token; ``live`` the pointer that
    counts from it (None for a tombstone); ``decide(live pointer)`` whether to go on, asked again whenever
    the token changed; ``build(live pointer)`` the new pointer, or a reason why nothing needs writing;
    ``record(pointer)`` writes the event a pointer names; ``unchecked`` reads back after the write to
    detect a lost swap, whose found pointer ``parse`` checks (without it, the lost pointer is None).
    ``exhausted`` is the problem and hint of the ``UserError`` after ``MAX_ATTEMPTS`` conflicts.
    """
    conflicts: list[str] = []
    seen: str | None = "<unread>"
    for _ in range(MAX_ATTEMPTS):
        raw, token = read()
        current = live(raw)
        if token != seen:
            if raw is not None:
                record(raw)  # repair: a run killed right after its swap
            ok, why = decide(current)
            seen = token
            if not ok:
                return Swapped(False, current, reason=why, conflicts=conflicts)
        previous = current.get("version") if current else None
        pointer = build(current)
        if isinstance(pointer, str):
            return Swapped(False, current, reason=pointer, conflicts=conflicts)
        body = json.dumps(pointer, indent=2, sort_keys=True).encode()
        try:
            store.replace(key, body, token)
        except Conflict:
            conflicts.append(previous or "none")
            continue
        if unchecked:
            found = store.read(key)
            if found is None or found[0] != body:
                lost = (parse(found[0]) if found else {}) if parse else None
                return Swapped(False, lost, previous=previous, conflicts=conflicts, lost=True)
        record(pointer)
        return Swapped(True, pointer, previous=previous, conflicts=conflicts)
    raise UserError("registry", *exhausted)
