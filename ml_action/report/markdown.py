"""The report room: Markdown reports rendered from the Jinja templates in ``templates/`` (the head that is
never shortened and the detail sections that may be) and the comment's footer. Rendering returns text;
where it goes (the report file, the job summary, the comment) is ``posting``'s."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ml_action.context import RunContext
from ml_action.core import fmt
from ml_action.core.compare import Row
from ml_action.report import escape

if TYPE_CHECKING:
    pass


@dataclass
class ReportParts:
    """A report as its unshortenable head and its detail sections (``summary_details``, when given, replace
    ``details`` in the report file and the job summary: longer tables than the PR comment's)."""

    head: str
    details: list[str]
    summary_details: list[str] | None = None

    def full(self, footer: str = "") -> str:
        details = self.details if self.summary_details is None else self.summary_details
        return (
            "\n".join([self.head.rstrip(), "", *[d.rstrip() + "\n" for d in details if d.strip()], footer]).rstrip()
            + "\n"
        )


@functools.cache
def environment() -> Any:
    """One Jinja environment per process (building it and loading templates is the slow part)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ml_action.report", "templates"),
        autoescape=False,
        trim_blocks=False,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(
        num=fmt.num, signed=fmt.signed, pct=fmt.pct, md=escape.md, code=escape.code, mermaid=escape.mermaid
    )
    return env


def render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)


def headline(primary: str, rows: list[Row], champion_version: str | None) -> str:
    row = next((r for r in rows if r.metric == primary), None)
    if row is None:
        return f"Primary metric **{primary}** could not be computed."
    if row.champion is None:
        return f"**{primary} = {fmt.num(row.candidate)}** on the holdout."
    word = {"better": "better than", "worse": "worse than", "same": "the same as"}.get(row.outcome, "vs")
    return (
        f"**{primary}: {fmt.num(row.champion)} → {fmt.num(row.candidate)}** ({fmt.signed(row.delta)}, "
        f"{fmt.pct(row.delta_pct)}), {word} champion {escape.code(champion_version)}."
    )


def mermaid_chart(rows: list[Row], champion_version: str | None) -> str:
    """A bar chart of the metrics on a 0–1 scale (the ones bounded that way), champion beside candidate."""
    bounded = [r for r in rows if r.metric not in ("rmse", "mae", "mape", "log_loss") and r.candidate is not None]
    if not bounded:
        return ""
    names = ", ".join(f'"{r.metric}"' for r in bounded)
    lines = [
        "xychart-beta",
        f'    title "{escape.mermaid(champion_version or "no champion")} vs candidate"',
        f"    x-axis [{names}]",
        '    y-axis "score" 0 --> 1',
    ]
    if champion_version:
        lines.append("    bar [" + ", ".join(f"{(r.champion or 0):.4f}" for r in bounded) + "]")
    lines.append("    bar [" + ", ".join(f"{r.candidate:.4f}" for r in bounded) + "]")
    return "\n".join(lines)


def build(context: dict[str, Any]) -> ReportParts:
    """Render the head and the details; extra detail sections can be passed as ``context['sections']``."""
    head = render("head.md.j2", **context)
    details = [render("details.md.j2", **context), *context.get("sections", [])]
    search = context.get("search")
    if search:  # the comment gets the top trials, the job summary all of them (bounded)
        from ml_action.pipeline.search import COMMENT_ROWS, SUMMARY_ROWS

        return ReportParts(
            head=head,
            details=[render("search.md.j2", **search, limit=COMMENT_ROWS), *details],
            summary_details=[render("search.md.j2", **search, limit=SUMMARY_ROWS), *details],
        )
    return ReportParts(head=head, details=details)


def comment_footer(ctx: RunContext) -> str:
    """The last line of the PR comment (never shortened): where the full report is."""
    where = f"[workflow run]({ctx.run_url})" if ctx.run_url else "ml-action"
    return f"<sub>Posted by ml-action · {where} · full report in the job summary</sub>"
