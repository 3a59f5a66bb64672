"""Issue 30 item 2: what a ``model`` spec may name. Nothing outside the rule is imported or called (a marker
file shows it), and what the user's code prints, at the Python level and on file descriptors 1 and 2, reaches
``echo`` instead of the runner's stdout."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ml_action.errors import UserError
from ml_action.pipeline.model_spec import Refused, class_estimator, factory_estimator

FACTORY = """
import os, sys
print("::add-mask::from-import")
os.write(1, b"::error::fd-one\\n")
os.write(2, b"##[warning]fd-two\\n")

def make():
    print("::set-output name=verdict::pass")
    print("to stderr", file=sys.stderr)
    from sklearn.linear_model import LogisticRegression
    return LogisticRegression()

def leave():
    raise SystemExit(0)
"""


@pytest.fixture(autouse=True)
def _forget_workspace_modules(tmp_path: Path) -> Iterator[None]:
    """Each test's workspace modules leave with it: a module left in ``sys.modules`` is, rightly, refused
    when another workspace names it."""
    path = list(sys.path)
    yield
    # string prefixes, not Path.resolve() per module: resolving ~2,000 modules' files took 0.17 s a test
    roots = tuple({str(tmp_path) + os.sep, str(tmp_path.resolve()) + os.sep})
    for name, module in list(sys.modules.items()):
        where = getattr(module, "__file__", None) or next(iter(getattr(module, "__path__", None) or []), None)
        if isinstance(where, str) and where.startswith(roots):
            del sys.modules[name]
    sys.path[:] = path


def _spec(spec: str, workspace: Path, echo: list[str] | None = None) -> object:
    make = factory_estimator if ":" in spec else class_estimator
    return make(spec, workspace, None if echo is None else echo.append)


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("sys:exit", "standard-library module 'sys'"),
        ("os:abort", "standard-library module 'os'"),
        ("this.s", "standard-library module 'this'"),
        ("subprocess.Popen", "standard-library module 'subprocess'"),
        ("yaml:safe_load", "outside the workspace"),  # installed; loaded too once another test imported it
        ("pip:main", "installed outside the workspace"),
        ("numpy:array", "outside the workspace"),
        ("pytest:main", "loaded from outside the workspace"),
        ("ml_action.pipeline.model:make_model", "loaded from outside the workspace"),
        ("sklearn.pipeline:make_pipeline", "only its estimator classes may be named"),
        ("sklearn.utils.Bunch", "is not an estimator class of sklearn"),
        ("sklearn.base.BaseEstimator", "is not an estimator class of sklearn"),
        ("sklearn.tests.test_base.K", "test suite"),
        ("tests.conftest:make", "test suite"),
        ("setup:make", "a script"),
        ("os.path:join", "standard-library"),
        ("a-b:c", "not a module path"),
        ("models:", "does not name a function"),
    ],
)
def test_a_spec_outside_the_rule_is_refused_before_any_import(tmp_path: Path, spec: str, words: str) -> None:
    before = set(sys.modules)
    with pytest.raises(Refused) as refused:
        _spec(spec, tmp_path)
    assert refused.value.input == "model" and words in refused.value.problem
    assert not {"this", "subprocess"} & (set(sys.modules) - before)  # refused ones were never imported


def test_a_library_estimator_class_and_workspace_code_are_built(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "__init__.py").write_text(
        "from sklearn.tree import DecisionTreeClassifier\nclass Tree(DecisionTreeClassifier):\n    pass\n"
    )
    assert type(_spec("sklearn.dummy.DummyClassifier", tmp_path)).__name__ == "DummyClassifier"
    assert type(_spec("mine.Tree", tmp_path)).__name__ == "Tree"


def test_what_user_code_prints_goes_to_echo_not_to_stdout(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "models").mkdir()  # a namespace package, as in `models/train.py` without __init__.py
    (tmp_path / "models" / "printing.py").write_text(FACTORY)
    echoed: list[str] = []
    estimator = _spec("models.printing:make", tmp_path, echoed)
    assert type(estimator).__name__ == "LogisticRegression"
    out, err = capfd.readouterr()
    assert "::" not in out and "##[" not in out and "##[" not in err, (out, err)
    [text] = echoed
    assert text.startswith("output of the model factory 'models.printing:make':")
    for printed in ("::add-mask::from-import", "::error::fd-one", "##[warning]fd-two", "::set-output", "to stderr"):
        assert printed in text


def test_the_users_exceptions_and_exit_are_a_model_error(tmp_path: Path) -> None:
    (tmp_path / "leaving.py").write_text(FACTORY)
    (tmp_path / "broken.py").write_text("raise RuntimeError('at import')\n")
    echoed: list[str] = []
    with pytest.raises(UserError) as left:
        _spec("leaving:leave", tmp_path, echoed)
    assert left.value.input == "model" and "SystemExit" in left.value.problem
    assert "::error::fd-one" in echoed[0]  # echoed even when the factory fails
    with pytest.raises(UserError) as broken:
        _spec("broken:make", tmp_path)
    assert "RuntimeError: at import" in broken.value.problem


def test_a_symlink_out_of_the_workspace_is_not_imported(tmp_path: Path) -> None:
    outside, workspace = tmp_path / "outside", tmp_path / "ws"
    outside.mkdir()
    workspace.mkdir()
    marker = tmp_path / "ran"
    (outside / "evil.py").write_text(f"open({str(marker)!r}, 'w').close()\ndef make():\n    return None\n")
    (workspace / "evil.py").symlink_to(outside / "evil.py")
    (workspace / "pkg").symlink_to(outside, target_is_directory=True)
    for spec in ("evil:make", "pkg.evil:make"):
        with pytest.raises(UserError) as refused:
            _spec(spec, workspace)
        assert "no " in refused.value.problem and "in the workspace" in refused.value.problem
    assert not marker.exists()


def test_a_workspace_file_shadowed_by_a_loaded_module_is_refused(tmp_path: Path) -> None:
    """``pytest`` is imported already: a workspace ``pytest.py`` would not be the module imported."""
    (tmp_path / "pytest.py").write_text("def make():\n    return None\n")
    with pytest.raises(Refused) as refused:
        _spec("pytest:make", tmp_path)
    assert "loaded from outside the workspace" in refused.value.problem
