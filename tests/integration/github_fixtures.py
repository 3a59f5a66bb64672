"""The ``github_api`` fixture: a GitHub REST API emulator on 127.0.0.1 with ``GITHUB_API_URL`` set to it.

Use it from a test module with ``pytest_plugins = ["tests.integration.github_fixtures"]`` (no conftest edit,
no unused import for ruff to flag), or ``from tests.integration.github_fixtures import github_api  # noqa: F401,F811``.
"""

from tests.integration.github_emulator import github_api_fixture

github_api = github_api_fixture("github_api")
