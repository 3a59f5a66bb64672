"""Where the action works: the workspace folder (``GITHUB_WORKSPACE`` or the ``workspace`` input) and the one
rule for user paths, which must stay inside it (``confine``)."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from pathlib import Path

from ml_action.errors import WorkspaceError


def confine(workspace: Path, relative: str, input_name: str) -> Path:
    """Resolve a user path inside the workspace; anything outside it is refused, with a hint when the path is
    inside the same repository checkout (run from a folder that holds both, or set `workspace`)."""
    root = workspace.resolve()
    path = (root / relative).resolve()
    if path != root and root not in path.parents:
        hint, shell_hint = "Use a path inside the workspace.", None
        top = find_checkout(root)
        if top is not None and (path == top or top in path.parents):
            common = common_folder(root, path)
            inside = path.relative_to(common).as_posix()
            hint = (
                f"It is inside the repository checkout: set `workspace: {common.relative_to(top).as_posix()}` "
                f"and `{input_name}: {inside}`."
            )
            up = shlex.quote(os.path.relpath(common, root))
            shell_hint = (
                f"It is inside the repository checkout {top}: run from {common} (or pass `--workspace "
                f"{up}`) with `--{input_name} {shlex.quote(inside)}`."
            )
        raise WorkspaceError(input_name, f"path '{relative}' is outside the workspace {root}", hint, root, shell_hint)
    return path


def find_checkout(start: Path) -> Path | None:
    """The top of the git checkout holding ``start`` (the nearest folder with a ``.git``), without running git."""
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def common_folder(a: Path, b: Path) -> Path:
    """The deepest folder holding both ``a`` (a folder) and ``b`` (a file or folder)."""
    return Path(os.path.commonpath([a, b if b.is_dir() else b.parent]))


def workspace_from_env(env: Mapping[str, str]) -> Path:
    return Path(env.get("GITHUB_WORKSPACE") or os.getcwd())


def resolve_workspace(env: Mapping[str, str], chosen: str) -> Path:
    """The workspace: ``GITHUB_WORKSPACE`` (else the current folder), or the ``workspace`` input/flag
    relative to it. Under Actions it must stay inside the checkout; at a shell any existing folder will do."""
    base = workspace_from_env(env)
    if not chosen.strip():
        return base
    folder = (base / chosen.strip()).resolve()
    if env.get("GITHUB_WORKSPACE"):
        base = base.resolve()
        if folder != base and base not in folder.parents:
            raise WorkspaceError(
                "workspace",
                f"'{chosen}' is outside the checkout {base}",
                "Give a folder inside the repository checkout.",
                base,
            )
    if not folder.is_dir():
        raise WorkspaceError(
            "workspace", f"'{chosen}' is not a folder (looked for {folder})", "Give an existing folder.", base
        )
    return folder
