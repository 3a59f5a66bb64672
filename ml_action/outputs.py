"""The action's outputs and what each means: ``action.yml`` and the README table are checked against it."""

OUTPUTS: dict[str, str] = {
    "verdict": "`pass`, `fail` or `inconclusive` (a rule with `confidence` whose interval straddles its limit; "
    "no rule failed). In `mode: monitor`, `fail` when degraded or drifted.",
    "health": "`mode: monitor`: `healthy`, `watch` (a significant drop, not significantly beyond the slack) or "
    "`degraded`.",
    "primary-metric": "Name of the primary metric.",
    "primary-metric-value": "The candidate's value of the primary metric on the holdout.",
    "metrics": 'JSON: `{"candidate": {...}, "champion": {...}}` scored on the same holdout rows.',
    "champion-version": "The champion's version after this run (empty when there is none).",
    "model-version": "The version written by `publish` (or the rollback target, or the alias's version).",
    "model-uri": "Where that version lives (`s3://...` or a folder).",
    "promoted": "`true` when this run made a new champion.",
    "report-path": "Path of the markdown report.",
    "comment-url": "URL of the PR comment (empty when none was posted).",
    "versions": "JSON list of versions with their aliases (`mode: list`).",
    "drift-detected": "`true` when the share of drifted columns reached `drift-share`.",
    "drifted-columns": "JSON list of the drifted columns.",
    "issue-url": "URL of the monitor issue (`mode: monitor`).",
    "reproduced": "`true` when `mode: reproduce` rebuilt the version within tolerance.",
    "winner": "`mode: leaderboard`: the key of the best result bundle that passes the gates (empty when none does).",
}
