"""The report: Markdown rendered from the Jinja templates in ``templates/`` (``markdown``), the evaluation's
report context and outputs, the pictures, the PR comment's body, and the one escaping policy (``escape``)."""
