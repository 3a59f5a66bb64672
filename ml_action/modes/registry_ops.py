"""``mode: rollback`` and ``mode: list``: the registry itself, no training.

``rollback`` re-points the champion; ``list`` shows what the registry holds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ml_action.adapters.registry import Registry, model_sha256
from ml_action.adapters.runner import Runner
from ml_action.config import Config
from ml_action.context import RunContext
from ml_action.errors import UserError
from ml_action.report import escape


def rollback(config: Config, ctx: RunContext, runner: Runner, registry: Registry | None, workdir: Path) -> int:
    """Re-point the champion to ``to-version`` (an id or ``previous``) after verifying its artifacts."""
    from ml_action.records.provenance import actor

    assert registry is not None, "cli opens the registry for this mode"
    wanted = config.to_version or "previous"
    with runner.group(f"Roll back to {wanted}"):
        before, _ = registry.champion()
        target = registry.resolve_version(wanted)
        registry.verify_version(target, workdir)
        manifest = registry.manifest(target)
        old = before.get("version") if before else None
        if old == target:
            raise UserError("to-version", f"{target} is already the champion", "Name another version.")

        def decide(current: dict[str, Any] | None) -> tuple[bool, str]:
            now = current.get("version") if current else None
            if now != old:
                return False, f"the champion changed to {now} while rolling back; run the rollback again"
            return True, ""

        sha = model_sha256(manifest, target)
        promotion = registry.swap_champion(
            target, sha, actor(ctx), "rollback", decide, details={"run_id": ctx.run_id or None}
        )
    if not promotion.promoted:
        raise UserError("to-version", promotion.reason, "Check `mode: list` and try again.")
    text = f"Rolled back `{config.model_name}`: champion `{old}` → `{target}`."
    runner.notice(text, title="rollback")
    runner.summary(f"## ⏪ ml-action · rollback\n\n{text}\n")
    runner.set_output("champion-version", target)
    runner.set_output("model-version", target)
    runner.set_output("promoted", True)
    return 0


def list_versions(config: Config, ctx: RunContext, runner: Runner, registry: Registry | None, workdir: Path) -> int:
    """The versions with their primary metric, date and git sha; which one is champion."""
    assert registry is not None, "cli opens the registry for this mode"
    champion, _ = registry.champion()
    current = champion.get("version") if champion else None
    named: dict[str, list[str]] = {}  # version -> the aliases pointing at it (besides champion)
    for name, pointer in registry.aliases(on_damage=lambda problem: runner.warning(problem, title="registry")).items():
        named.setdefault(pointer["version"], []).append(name)
    rows: list[dict[str, Any]] = []
    for version in registry.versions():
        manifest, damage = registry.try_manifest(version)
        if manifest is None:  # a damaged manifest is shown as such; the other versions are still listed
            runner.warning(damage, title="registry")
            rows.append(
                {
                    "version": version,
                    "champion": version == current,
                    "aliases": named.get(version, []),
                    "created_at": None,
                    "git_sha": None,
                    "primary_metric": "⚠ damaged",
                    "value": None,
                    "damaged": damage,
                }
            )
            continue
        primary = manifest.get("primary_metric")
        rows.append(
            {
                "version": version,
                "champion": version == current,
                "aliases": named.get(version, []),
                "created_at": _text(manifest.get("created_at")),
                "git_sha": _text((manifest.get("git") or {}).get("sha")),
                "primary_metric": _text(primary),
                "value": (manifest.get("metrics") or {}).get(primary),
            }
        )
    lines = [
        f"## ml-action · versions of `{config.model_name}`",
        "",
        "| version | champion | aliases | primary metric | value | created | git sha |",
        "| --- | :---: | --- | --- | ---: | --- | --- |",
    ]
    for r in reversed(rows):
        value = f"{r['value']:.4f}" if isinstance(r["value"], (int, float)) else "—"
        tags = " ".join(f"`{a}`" for a in r["aliases"])  # names passed ALIAS_RE: no Markdown in them
        sha = escape.code(r["git_sha"][:12]) if r["git_sha"] else "—"
        lines.append(
            f"| `{r['version']}` | {'★' if r['champion'] else ''} | {tags} | {escape.md(r['primary_metric'] or '—')} | "
            f"{value} | {escape.md(r['created_at'] or '—')} | {sha} |"
        )
    if not rows:
        lines.append("| _none yet_ | | | | | | |")
    table = "\n".join(lines)
    runner.markdown(table)
    runner.summary(table)
    runner.set_output("versions", json.dumps(rows))
    runner.set_output("champion-version", current or "")
    return 0


def _text(value: Any) -> str | None:
    """A manifest's string for the table and the ``versions`` output: one line, control characters visible,
    clipped (``escape.visible``); the table escapes it once more for Markdown."""
    return None if value is None else escape.visible(value)
