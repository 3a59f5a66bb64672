"""ml-action: CI/CD for scikit-learn models (package root: the version string and the public API).

``load_model``, ``fetch_model``, ``registry_info`` (from ``ml_action.api``) and ``UserError`` are imported
lazily, on first use, so that ``import ml_action`` and ``ml-action --version`` stay instant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ml_action.lazy import exports

__version__ = "1.0.0"
__all__ = ["UserError", "__version__", "fetch_model", "load_model", "registry_info"]

if TYPE_CHECKING:
    from ml_action.api import fetch_model, load_model, registry_info
    from ml_action.errors import UserError

__getattr__ = exports(
    __name__,
    {
        "load_model": "ml_action.api",
        "fetch_model": "ml_action.api",
        "registry_info": "ml_action.api",
        "UserError": "ml_action.errors",
    },
)
