"""``mode: alias``: point a named alias (``staging``, ``challenger``...) at a version, or remove it.

``alias`` names it; ``to-version`` is the target (an id like ``v7``, ``champion`` or ``latest``), verified
against its manifest's sha256 before the pointer moves; ``remove-alias: true`` (with no ``to-version``)
removes it. The pointer moves by compare-and-swap and each change is recorded as an event (see
``registry.aliases``). ``champion`` is reserved: ``publish`` promotes and ``rollback`` moves it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ml_action.adapters.registry import Registry, check_alias_name, model_sha256
from ml_action.adapters.runner import Runner
from ml_action.config import Config
from ml_action.context import RunContext
from ml_action.errors import UserError


def alias(config: Config, ctx: RunContext, runner: Runner, registry: Registry | None, workdir: Path) -> int:
    """Set ``alias`` to ``to-version`` (verified first), or remove it with ``remove-alias: true``."""
    from ml_action.records.provenance import actor

    assert registry is not None, "cli opens the registry for this mode"
    if not config.alias:
        raise UserError("alias", "is required for `mode: alias`", "Name the alias, e.g. `alias: staging`.")
    name = check_alias_name(config.alias)
    if config.remove_alias and config.to_version:
        raise UserError(
            "remove-alias",
            f"is true while `to-version` is '{config.to_version[:40]}'",
            "Give `to-version` to set the alias, or `remove-alias: true` alone to remove it.",
        )
    if not config.remove_alias and not config.to_version:
        raise UserError(
            "to-version",
            "is required for `mode: alias`",
            "Name the version the alias should point at (`v7`, `champion`, `latest`), or set "
            "`remove-alias: true` to remove it.",
        )
    target: str | None = None
    sha: str | None = None
    with runner.group(f"Alias {name}"):
        if not config.remove_alias:
            target = registry.resolve_version(config.to_version)
            manifest = registry.verify_version(target, workdir)
            sha = model_sha256(manifest, target)
        before = registry.alias(name)
        if target is None and before is None:
            raise UserError(
                "alias",
                f"the alias '{name}' is not set in {registry.uri}, so there is nothing to remove",
                "Check the aliases with `mode: list`.",
            )

        def decide(current: dict[str, Any] | None) -> tuple[bool, str]:
            return (current is not None or target is not None), f"another run removed the alias '{name}' first"

        changed, pointer, why = registry.swap_alias(
            name, target, sha, actor(ctx), decide, details={"run_id": ctx.run_id or None}
        )
    old = (pointer or {}).get("previous") if changed else (before or {}).get("version")
    if not changed:
        runner.notice(f"Nothing to change: {why}.", title="alias")
        text = f"Alias `{name}` of `{config.model_name}` unchanged: {why}."
    elif target is None:
        text = f"Removed alias `{name}` of `{config.model_name}` (it pointed at `{old}`)."
    else:
        text = f"Alias `{name}` of `{config.model_name}`: `{old or 'unset'}` → `{target}`."
    if changed:
        runner.notice(text, title="alias")
    runner.summary(f"## 🏷️ ml-action · alias\n\n{text}\n")
    now = (pointer or {}).get("version") or ""
    runner.set_output("model-version", now)
    if now:
        runner.set_output("model-uri", registry.url_of(now))
    return 0
