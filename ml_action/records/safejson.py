"""The one reader of JSON that ml-action did not just write itself: registry objects (pointers, manifests,
events), result bundles and a skops file's ``schema.json``.

Bounded before anything uses the value: at most ``limit`` bytes, nested at most ``depth`` levels (a 100,000-deep
``[[[[…`` would otherwise raise ``RecursionError`` in the parser, or later in any code that walks the value).
Every problem is a ``BadJSON`` whose message completes "the object …": callers turn it into their own
``… is damaged`` error.
"""

from __future__ import annotations

import json
from typing import Any

MAX_BYTES = 20_000_000
MAX_DEPTH = 64


class BadJSON(ValueError):
    """Text that is not JSON, or is larger or deeper than allowed; the message reads after "it"/"the object"."""


def loads(data: bytes | str, limit: int = MAX_BYTES, depth: int = MAX_DEPTH) -> Any:
    """The JSON value in ``data``, refused when larger than ``limit`` bytes or nested deeper than ``depth``."""
    if len(data) > limit:
        raise BadJSON(f"is larger than {limit:,} bytes")
    try:
        value = json.loads(data)
    except RecursionError:
        raise BadJSON(f"is nested deeper than {depth} levels") from None
    except (UnicodeDecodeError, ValueError):
        raise BadJSON("is not valid JSON") from None
    if nesting(value, depth) > depth:
        raise BadJSON(f"is nested deeper than {depth} levels")
    return value


def nesting(value: Any, stop: int = MAX_DEPTH) -> int:
    """How deep lists and objects nest in ``value`` (a scalar is 0), counting no further than ``stop + 1``."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        level += 1
        deepest = max(deepest, level)
        if deepest > stop:
            return deepest
        pending.extend((child, level) for child in children)
    return deepest
