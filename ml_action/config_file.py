"""Reading the YAML config file (``ml-action.yml``): safe YAML, a mapping of known input names."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ml_action import inputs
from ml_action.errors import UserError, WorkspaceError, first_line
from ml_action.workspace import confine


def read_config_file(workspace: Path, name: str, explicit: bool, known: frozenset[str]) -> dict[str, Any]:
    """Settings from the YAML config file; keys are input names (``test-size`` or ``test_size``) among ``known``."""
    import yaml

    path = confine(workspace, name, "config")
    if not path.is_file():
        if explicit:
            raise WorkspaceError(
                "config",
                f"file '{name}' does not exist in the workspace {workspace.resolve()}",
                "Fix the path or remove `config`.",
                workspace,
            )
        return {}
    try:
        loaded = inputs.load_yaml(path.read_text(encoding="utf-8"))
    except inputs.UnsafeYAML as exc:
        raise UserError("config", f"'{name}' {exc}", "Write the file as plain YAML.") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UserError("config", f"'{name}' is not valid YAML ({first_line(exc)})", "Fix the file's syntax.") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, Mapping):
        raise UserError("config", f"'{name}' is not a mapping of settings", "Write `key: value` lines.")
    out = {}
    for key, value in loaded.items():
        name_ = str(key).replace("_", "-")
        if name_ not in known or name_ in ("config", "github-token"):
            valid = ", ".join(sorted(known - {"config", "github-token"}))
            raise UserError("config", f"'{name}' has an unknown key '{key}'", f"Valid keys: {valid}.")
        out[name_] = value
    return out
