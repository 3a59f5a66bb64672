"""Named aliases beyond ``champion``: ``aliases/<name>.json`` pointers, moved by compare-and-swap.

``champion.json`` stays the promotion target (``publish`` and ``rollback`` move it); every other alias
(``staging``, ``challenger``...) has its own pointer object::

    aliases/<name>.json   {"alias", "version", "sha256", "set_at", "by", "previous", "reason", "event"}

Removing an alias writes a tombstone (``version`` and ``sha256`` null) by the same compare-and-swap rather
than deleting the object: S3 has no conditional delete we can rely on, the IAM policy needs no
``s3:DeleteObject``, and the next setter still swaps against a token. Like the champion's, each pointer
names its event file and carries every field of the event, so the event is written right after the swap
and repaired by the next swap of that alias if the run died in between (create-only: never twice).

Concurrent setters are serialised, never lost: a setter whose swap finds the pointer changed reads it
again, asks ``decide`` again and records the version it actually replaced as ``previous``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ml_action.adapters.registry.schema import ALIAS_RE, RESERVED_ALIASES, DamagedObject, parse_alias
from ml_action.adapters.registry.swap import MAX_ATTEMPTS, Decide, event_name, swap_pointer, write_event
from ml_action.errors import UserError
from ml_action.records.provenance import utc_now

if TYPE_CHECKING:
    from ml_action.adapters.registry.store import ObjectStore


def check_alias_name(name: str, input_name: str = "alias", allow_reserved: bool = False) -> str:
    """``name`` when it is a valid alias (``[a-z][a-z0-9-]{0,40}``); ``champion`` only with ``allow_reserved``."""
    if not ALIAS_RE.match(name or ""):
        shown = json.dumps((name or "")[:50], ensure_ascii=True)
        raise UserError(
            input_name,
            f"{shown} is not a valid alias name",
            "Use 1-41 lower-case letters, digits and '-', starting with a letter (e.g. `staging`).",
        )
    if name in RESERVED_ALIASES and not allow_reserved:
        raise UserError(
            input_name,
            f"the alias '{name}' is reserved: it moves only by promotion and rollback",
            "Use `mode: publish` to promote or `mode: rollback` to move it; pick another name here.",
        )
    return name


def _live(pointer: dict[str, Any] | None) -> dict[str, Any] | None:
    return pointer if pointer is not None and pointer.get("version") is not None else None


class AliasesMixin:
    """The alias half of ``Registry`` (it supplies ``store``, ``key``, ``uri`` and the write checks)."""

    store: ObjectStore

    @property
    def uri(self) -> str:
        raise NotImplementedError

    def key(self, *parts: str) -> str:
        raise NotImplementedError

    def _before_write(self) -> None:
        raise NotImplementedError

    @property
    def unchecked_writes(self) -> bool:
        raise NotImplementedError

    # ------------------------------------------------------------------ reading
    def _alias_key(self, name: str) -> str:
        check_alias_name(name, allow_reserved=False)
        return self.key("aliases", f"{name}.json")

    def alias_pointer(self, name: str) -> tuple[dict[str, Any] | None, str | None]:
        """The raw pointer of ``name`` (a tombstone has ``version: null``) and its CAS token."""
        key = self._alias_key(name)
        found = self.store.read(key)
        if found is None:
            return None, None
        return parse_alias(found[0], self.store.url(key), name), found[1]

    def alias(self, name: str) -> dict[str, Any] | None:
        """The pointer ``name`` refers to, or None when it is not set; ``champion`` reads ``champion.json``."""
        if name in RESERVED_ALIASES:
            return self.champion()[0]
        return _live(self.alias_pointer(name)[0])

    def champion(self) -> tuple[dict[str, Any] | None, str | None]:
        raise NotImplementedError

    def aliases(self, on_damage: Callable[[str], None] | None = None) -> dict[str, dict[str, Any]]:
        """Every set alias (not ``champion``) -> its pointer, by name. A damaged pointer raises
        ``DamagedObject``, or with ``on_damage`` is reported to it and left out."""
        prefix = self.key("aliases") + "/"
        out: dict[str, dict[str, Any]] = {}
        for key in self.store.list(prefix):
            rest = key[len(prefix) :]
            name = rest[: -len(".json")] if rest.endswith(".json") else ""
            if not ALIAS_RE.match(name) or name in RESERVED_ALIASES:
                continue  # not ours: never a key we build from
            try:
                pointer = _live(self.alias_pointer(name)[0])
            except DamagedObject as exc:
                if on_damage is None:
                    raise
                on_damage(exc.problem)
                continue
            if pointer is not None:
                out[name] = pointer
        return dict(sorted(out.items()))

    def resolve_alias(self, name: str, input_name: str = "alias") -> dict[str, Any]:
        """The pointer of a set alias (``champion`` included); ``UserError`` naming the set ones otherwise."""
        check_alias_name(name, input_name, allow_reserved=True)
        pointer = self.alias(name)
        if pointer is None:
            known = ", ".join(["champion"] * (self.champion()[0] is not None) + list(self.aliases())) or "none"
            what = "there is no champion yet" if name in RESERVED_ALIASES else f"the alias '{name}' is not set"
            raise UserError(
                input_name,
                f"{what} in {self.uri}",
                f"Set aliases: {known}. Set one with `mode: alias`, or publish a model first.",
            )
        return pointer

    # ------------------------------------------------------------------ writing
    def swap_alias(
        self,
        name: str,
        version: str | None,
        sha256: str | None,
        by: str,
        decide: Decide | None = None,
        details: dict[str, Any] | None = None,
    ) -> tuple[bool, dict[str, Any] | None, str]:
        """Point ``name`` at ``version`` (None: remove it) by compare-and-swap (``swap.swap_pointer``).

        ``decide(current live pointer or None)`` is asked again whenever the pointer changed under us.
        Returns ``(changed, pointer now, reason)``: ``changed`` False with the reason when ``decide``
        refused, or when the pointer already says what we asked (nothing written then).
        """
        key = self._alias_key(name)
        self._before_write()
        reason = "alias" if version else "unalias"

        def build(current: dict[str, Any] | None) -> dict[str, Any] | str:
            now = current.get("version") if current else None
            if now == version:
                return f"the alias '{name}' already {'points at ' + now if now else 'is not set'}"
            return {
                "alias": name,
                "version": version,
                "sha256": sha256,
                "set_at": utc_now(),
                "by": by,
                "previous": now,
                "reason": reason,
                **(details or {}),
                "event": event_name(version or now or "", reason),
            }

        done = swap_pointer(
            self.store,
            key,
            read=lambda: self.alias_pointer(name),
            live=_live,
            decide=decide or (lambda current: (True, "")),
            build=build,
            record=self._write_alias_event,
            unchecked=self.unchecked_writes,
            exhausted=(
                f"the alias '{name}' of {self.uri} kept changing during {MAX_ATTEMPTS} compare-and-swap attempts",
                "Run the job again.",
            ),
        )
        if done.lost:
            raise UserError(
                "registry",
                f"another run changed the alias '{name}' of {self.uri} at the same "
                "moment and the store does not refuse the second write "
                "(`s3-conditional-writes: unsupported`)",
                "Serialise the jobs that write this registry with a `concurrency:` group, "
                "check `mode: list`, and set the alias again.",
            )
        return done.swapped, done.pointer, done.reason

    def _write_alias_event(self, pointer: dict[str, Any]) -> None:
        """The event a pointer names, from the pointer alone (create-only: a second attempt is a no-op)."""
        name = pointer.get("event")
        version = pointer.get("version") or pointer.get("previous")
        if not name or not version:
            return
        fixed = {"version", "sha256", "set_at", "reason", "event"}
        event = {
            "kind": pointer.get("reason") or "alias",
            "version": version,
            "at": pointer.get("set_at"),
            "to": pointer.get("version"),
            **{k: v for k, v in pointer.items() if k not in fixed},
        }
        write_event(self.store, self.key("events", name), event)
