"""What a ``model`` spec may name, and bringing it in: the one rule for the ``model`` input (evaluate,
publish) and for the ``model`` a manifest records (``reproduce`` rebuilds through the same code).

A spec is one of:

- a short name (``random_forest``; ``model.SHORT_NAMES``);
- an import path inside scikit-learn, LightGBM or XGBoost (``sklearn.svm.LinearSVC``) naming an estimator
  class, defined in that library and derived from scikit-learn's ``BaseEstimator``;
- code in the workspace: ``module:function`` (a factory returning an unfitted estimator) or ``module.Class``
  (an estimator class), where ``module`` is a ``.py`` file (or a package's ``__init__.py``) under the
  workspace, symlinks resolved.

Anything else is refused (``Refused``, naming ``model``) before anything is imported: ``sys:exit``,
``os:abort``, ``this.s``, a module installed in site-packages or already loaded from outside the workspace,
a library's test suite. A manifest (or the alias that points at it) is written by whoever can write the
bucket: it must never choose what code runs beyond the repository's own. After the import the module's file
is checked once more (it must be the workspace file found before).

What the user's code prints while it is imported, called or built, at the Python level and on file
descriptors 1 and 2 (C extensions, subprocesses), is captured and handed to ``echo`` afterwards, clipped:
the runner's ``info`` writes every line through ``escape.log_lines``, so a ``print("::add-mask::…")`` or a
``##[`` line in a factory cannot become a workflow command. Echoed rather than dropped: a factory's output
is how its author debugs it.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.machinery
import importlib.util
import io
import keyword
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ml_action.errors import UserError, first_line
from ml_action.report import escape

LIBRARIES = ("sklearn", "lightgbm", "xgboost")
SKIPPED_PARTS = frozenset({"tests", "conftest", "__main__", "setup"})  # never estimators: test suites, scripts
OUTPUT_LIMIT = 20_000  # characters of captured output echoed; a cut is marked
HINT = (
    "Use a short name, an estimator class of scikit-learn, LightGBM or XGBoost (`sklearn.svm.LinearSVC`), "
    "or `module:function` / `module.Class` in a .py file of your repository (`models/train.py` is "
    "`models.train:make_model`)."
)

_FIX = "Fix the factory so that it returns an unfitted estimator."

Echo = Callable[[str], None]


class Refused(UserError):
    """A spec outside the rule above. ``reproduce`` reports it as a damaged manifest, not a user mistake."""

    def __init__(self, problem: str, hint: str = HINT) -> None:
        super().__init__("model", problem, hint)


def quoted(spec: str) -> str:
    """A spec inside a message: quoted, one line, clipped."""
    return f"'{escape.visible(spec, 100)}'"


def _to_stderr(text: str) -> None:
    sys.stderr.write("".join(line + "\n" for line in escape.log_lines(text)))


def _module_parts(spec: str, module_name: str) -> list[str]:
    parts = module_name.split(".")
    if not all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
        raise Refused(f"{quoted(spec)} is not a module path")
    return parts


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _workspace_file(parts: list[str], root: Path) -> Path | None:
    """The ``.py`` file ``parts`` names under ``root`` (every folder on the way inside it too), or None."""
    folder = root
    for part in parts[:-1]:
        folder = (folder / part).resolve()
        if not _inside(folder, root) or not folder.is_dir():
            return None
    for candidate in (folder / f"{parts[-1]}.py", folder / parts[-1] / "__init__.py"):
        resolved = candidate.resolve()
        if resolved.is_file() and _inside(resolved, root):
            return resolved
    return None


def _loaded_from(module: Any) -> str | None:
    """Where an imported module's code came from: its file, else its first package folder (a namespace)."""
    found = getattr(module, "__file__", None)
    if found:
        return str(found)
    path = list(getattr(module, "__path__", None) or [])
    return str(path[0]) if path else None


def _check_workspace_module(spec: str, parts: list[str], root: Path) -> Path:
    """The workspace file of a module a spec names, after refusing every module from elsewhere."""
    top = parts[0]
    if top in sys.stdlib_module_names or top in sys.builtin_module_names:
        raise Refused(f"{quoted(spec)} names the standard-library module '{top}', not a module in the workspace")
    if top in LIBRARIES:
        raise Refused(f"{quoted(spec)} names a function of '{top}': only its estimator classes may be named")
    if any(p in SKIPPED_PARTS for p in parts):
        raise Refused(f"{quoted(spec)} names a test suite or a script, not a model module")
    loaded = sys.modules.get(top)
    where = _loaded_from(loaded) if loaded is not None else None
    if loaded is not None and (where is None or not _inside(Path(where).resolve(), root)):
        raise Refused(
            f"{quoted(spec)} names '{top}', which is loaded from outside the workspace ({where or 'built in'})"
        )
    found = _workspace_file(parts, root)
    if found is not None:
        return found
    others = [p for p in sys.path if p and Path(p).resolve() != root]
    if importlib.machinery.PathFinder.find_spec(top, others) is not None:
        raise Refused(f"{quoted(spec)} names '{top}', which is installed outside the workspace, not a file in it")
    name = ".".join(parts)
    raise UserError(
        "model",
        f"cannot import module '{name}': no {'/'.join(parts)}.py in the workspace {root}",
        "The module must be a file of the repository, named from its root: `models/train.py` is "
        "`models.train:make_model`.",
    )


@contextlib.contextmanager
def captured(echo: Echo | None, what: str) -> Iterator[None]:
    """Run the block with stdout and stderr (Python's and file descriptors 1 and 2) captured; then, whether
    the block succeeded or not, hand what was printed, clipped, to ``echo`` (default: escaped lines on
    stderr)."""
    echo = echo or _to_stderr
    text = io.StringIO()
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        if stream is not None:
            stream.flush()
    with tempfile.TemporaryFile() as sink:
        try:
            saved = [os.dup(1), os.dup(2)]
        except OSError:  # no descriptors 1 and 2 to save: Python's streams only
            saved = []
        try:
            for fd in (1, 2) if saved else ():
                os.dup2(sink.fileno(), fd)
            with contextlib.redirect_stdout(text), contextlib.redirect_stderr(text):
                yield
        finally:
            for stream in (sys.__stdout__, sys.__stderr__):
                if stream is not None:
                    stream.flush()
            for fd, copy in zip((1, 2), saved, strict=False):
                os.dup2(copy, fd)
                os.close(copy)
            sink.seek(0)
            printed = text.getvalue() + sink.read(4 * OUTPUT_LIMIT + 1).decode("utf-8", errors="replace")
            if printed.strip():
                cut = f"\n… [cut at {OUTPUT_LIMIT:,} characters]" if len(printed) > OUTPUT_LIMIT else ""
                echo(f"output of {what}:\n{printed[:OUTPUT_LIMIT].rstrip()}{cut}")


def _import(spec: str, module_name: str, expected: Path | None, root: Path) -> Any:
    """Import ``module_name`` (a workspace module when ``expected`` is its file); the user's exceptions,
    ``SystemExit`` included, become a ``UserError`` naming ``model``."""
    if expected is not None:
        folder = str(root)
        if sys.path[:1] != [folder]:  # the workspace first, so nothing installed shadows it
            with contextlib.suppress(ValueError):
                sys.path.remove(folder)
            sys.path.insert(0, folder)
    importlib.invalidate_caches()  # files written since the last import are seen
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(
            "model", f"cannot import module '{module_name}' ({first_line(exc)})", "Check the module and its imports."
        ) from None
    except (Exception, SystemExit) as exc:
        raise UserError(
            "model",
            f"importing '{module_name}' failed: {type(exc).__name__}: {first_line(exc)}",
            "Fix the module so that it imports cleanly.",
        ) from None
    if expected is not None:
        where = _loaded_from(module)
        if where is None or Path(where).resolve() != expected:
            raise Refused(f"{quoted(spec)} was imported from {where or 'nowhere'}, not from {expected}")
    return module


def _call(spec: str, make: Any) -> Any:
    """``make()`` (a factory or a class); the user's exceptions become a ``UserError`` naming ``model``."""
    try:
        return make()
    except TypeError as exc:
        if not isinstance(make, type):
            raise UserError("model", f"{quoted(spec)} failed: TypeError: {first_line(exc)}", _FIX) from None
        raise UserError(
            "model",
            f"{quoted(spec)} cannot be built without arguments ({first_line(exc)})",
            "Use a `module:function` factory in your repository that builds it.",
        ) from None
    except (Exception, SystemExit) as exc:
        raise UserError("model", f"{quoted(spec)} failed: {type(exc).__name__}: {first_line(exc)}", _FIX) from None


def _has_estimator_api(obj: Any) -> bool:
    return all(hasattr(obj, a) for a in ("fit", "predict", "get_params"))


def factory_estimator(spec: str, workspace: Path, echo: Echo | None = None) -> Any:
    """The estimator a ``module:function`` factory in the workspace returns."""
    module_name, _, func_name = spec.partition(":")
    root = workspace.resolve()
    if not func_name.isidentifier():
        raise Refused(f"{quoted(spec)} does not name a function after ':'")
    file = _check_workspace_module(spec, _module_parts(spec, module_name), root)
    with captured(echo, f"the model factory {quoted(spec)}"):
        func = getattr(_import(spec, module_name, file, root), func_name, None)
        if not callable(func):
            raise UserError(
                "model",
                f"'{module_name}' has no function '{func_name}'",
                "Name a function that returns an unfitted estimator or pipeline.",
            )
        estimator = _call(spec, func)
    if not _has_estimator_api(estimator):
        raise UserError(
            "model",
            f"{quoted(spec)} returned {type(estimator).__name__}, not a scikit-learn estimator",
            "Return an unfitted estimator or Pipeline (with fit, predict and get_params).",
        )
    return estimator


def class_estimator(spec: str, workspace: Path, echo: Echo | None = None) -> Any:
    """An estimator of the class ``spec`` names: a library's estimator class or a class in the workspace."""
    module_name, _, class_name = spec.rpartition(".")
    root = workspace.resolve()
    parts = _module_parts(spec, spec)
    library = parts[0] in LIBRARIES
    if library and any(p in SKIPPED_PARTS for p in parts):
        raise Refused(f"{quoted(spec)} names a test suite or a script, not an estimator class")
    if library and importlib.util.find_spec(parts[0]) is None:  # a top-level name: nothing is imported
        raise UserError("model", f"{quoted(spec)} needs {parts[0]}, which is not installed", f"Install {parts[0]}.")
    file = None if library else _check_workspace_module(spec, parts[:-1], root)
    with captured(echo, f"the model class {quoted(spec)}"):
        try:
            cls = getattr(_import(spec, module_name, file, root), class_name, None)
        except UserError:
            if not library:
                raise
            cls = None
        if cls is None:
            if library:
                raise Refused(f"unknown model {quoted(spec)}", f"{HINT} Check the spelling.")
            raise UserError("model", f"'{module_name}' has no class '{class_name}'", "Name an estimator class in it.")
        if not isinstance(cls, type) or not _has_estimator_api(cls) or (library and not _library_class(cls)):
            raise Refused(
                f"{quoted(spec)} is not an estimator class" + (f" of {parts[0]}" if library else ""),
                "Name a class with fit, predict and get_params (a classifier or a regressor).",
            )
        return _call(spec, cls)


def _library_class(cls: type) -> bool:
    """An estimator class that a library in ``LIBRARIES`` defines (not one it merely imports)."""
    from sklearn.base import BaseEstimator

    return issubclass(cls, BaseEstimator) and cls.__module__.partition(".")[0] in LIBRARIES
