"""Markdown reports rendered from the Jinja templates in ``templates/``: the head (verdict, comparison,
gates) that is never shortened, and the detail sections that may be."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

from ml_action.compare import Row


@dataclass
class ReportParts:
    """A report as its unshortenable head and its detail sections."""

    head: str
    details: list[str]

    def full(self, footer: str = "") -> str:
        return "\n".join([self.head.rstrip(), "", *[d.rstrip() + "\n" for d in self.details if d.strip()],
                          footer]).rstrip() + "\n"


def _num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3g}"
    return str(value)


def _signed(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:+.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:+.3g}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2f} %"


@functools.cache
def environment() -> Any:
    """One Jinja environment per process (building it and loading templates is the slow part)."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("ml_action", "templates"), autoescape=False,
                             trim_blocks=False, keep_trailing_newline=True, undefined=jinja2.ChainableUndefined)
    env.filters.update(num=_num, signed=_signed, pct=_pct)
    return env


def render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)


def headline(primary: str, rows: list[Row], champion_version: str | None) -> str:
    row = next((r for r in rows if r.metric == primary), None)
    if row is None:
        return f"Primary metric **{primary}** could not be computed."
    if row.champion is None:
        return f"**{primary} = {_num(row.candidate)}** on the holdout."
    word = {"better": "better than", "worse": "worse than", "same": "the same as"}.get(row.outcome, "vs")
    return (f"**{primary}: {_num(row.champion)} → {_num(row.candidate)}** ({_signed(row.delta)}, "
            f"{_pct(row.delta_pct)}), {word} champion `{champion_version}`.")


def mermaid_chart(rows: list[Row], champion_version: str | None) -> str:
    """A bar chart of the metrics on a 0–1 scale (the ones bounded that way), champion beside candidate."""
    bounded = [r for r in rows if r.metric not in ("rmse", "mae", "mape", "log_loss") and r.candidate is not None]
    if not bounded:
        return ""
    names = ", ".join(f'"{r.metric}"' for r in bounded)
    lines = ["xychart-beta", f'    title "{champion_version or "no champion"} vs candidate"',
             f"    x-axis [{names}]", '    y-axis "score" 0 --> 1']
    if champion_version:
        lines.append("    bar [" + ", ".join(f"{(r.champion or 0):.4f}" for r in bounded) + "]")
    lines.append("    bar [" + ", ".join(f"{r.candidate:.4f}" for r in bounded) + "]")
    return "\n".join(lines)


def build(context: dict[str, Any]) -> ReportParts:
    """Render the head and the details; extra detail sections can be passed as ``context['sections']``."""
    head = render("head.md.j2", **context)
    details = [render("details.md.j2", **context), *context.get("sections", [])]
    return ReportParts(head=head, details=details)
