"""Names a package exports but imports only on first use (PEP 562), so that importing it stays instant:
the package root's public API and the registry's face."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def exports(package: str, table: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that loads ``name`` from the module ``table[name]``."""

    def __getattr__(name: str) -> Any:
        if name in table:
            import importlib

            return getattr(importlib.import_module(table[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
