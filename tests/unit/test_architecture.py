"""The shape of the package that a newcomer relies on: the import graph of ``ml_action`` has no circle
(imports inside functions and type-checking-only imports included), the core imports no adapter and adapters
import no orchestration, no module is over ~400 lines, only the entries read the process environment, no
mode module imports another mode module, and the registry is imported as a package, never through its
modules."""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "ml_action"
MAX_LINES = 420
ENV_READERS = {"ml_action.cli", "ml_action.context", "ml_action.api"}  # api: a library entry point
# the layers are the package's folders: the core computes (no network, no environment, no runner); adapters
# talk to the outside world; orchestration (the pipeline's steps, the modes, the CLI) calls both. Records
# (the files the action writes) and the report (rendering) sit between them.
CORE = {"ml_action.core"}
ADAPTERS = {"ml_action.adapters"}
ORCHESTRATION = {"ml_action.pipeline", "ml_action.modes", "ml_action.cli"}


def _in(name: str, layer: set[str]) -> bool:
    return any(name == m or name.startswith(m + ".") for m in layer)


@functools.cache
def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every ml_action module that ``name`` imports, at module level or inside a function."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    # every import counts, those under ``if TYPE_CHECKING:`` too: a circle of annotations is still a circle
    # a newcomer has to untangle
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        for target in targets:
            # "from ml_action.x import y": y may be a module or a name inside x; keep what is a module
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and target != "ml_action":
                out.add(target)
    return out


@functools.cache
def _graph() -> dict[str, set[str]]:
    """Read once per session: every test reads the same tree (the tests do not change the result)."""
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_checker_sees_a_circle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_circle_in_the_package() -> None:
    graph = _graph()
    assert "ml_action.modes" in graph and graph["ml_action.cli"], "the walker found no imports"
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_no_mode_imports_another_mode() -> None:
    graph = _graph()
    modes = [m for m in graph if m.startswith("ml_action.modes.")]
    assert modes
    for mode in modes:
        others = {m for m in graph[mode] if m.startswith("ml_action.modes")}
        assert not others, f"{mode} imports {others}"


def test_the_core_imports_no_mode() -> None:
    graph = _graph()
    for name, deps in graph.items():
        if name.startswith("ml_action.modes") or name in ("ml_action.cli", "ml_action.__main__"):
            continue
        assert not {d for d in deps if d.startswith("ml_action.modes")}, f"{name} imports a mode"


def test_the_core_imports_no_adapter() -> None:
    graph = _graph()
    core = [m for m in graph if _in(m, CORE)]
    assert len(core) > 10, core  # the walker found the core's modules
    for name in core:
        bad = {d for d in graph[name] if _in(d, ADAPTERS) or _in(d, ORCHESTRATION)}
        assert not bad, f"{name} (core) imports {bad}"


def test_adapters_import_no_orchestration() -> None:
    graph = _graph()
    for name in (m for m in graph if _in(m, ADAPTERS)):
        bad = {d for d in graph[name] if _in(d, ORCHESTRATION)}
        assert not bad, f"{name} (adapter) imports {bad}"


def test_the_layer_checker_sees_a_breach() -> None:
    assert _in("ml_action.adapters.registry.base", ADAPTERS) and _in("ml_action.modes.evaluate", ORCHESTRATION)
    assert not _in("ml_action.adaptersx", ADAPTERS) and not _in("ml_action.core.stats", ADAPTERS)


def test_only_the_registry_imports_its_modules() -> None:
    """``ml_action.adapters.registry`` is the registry's one import surface: ``base``, ``s3``, ``schema``...
    are its own."""
    graph = _graph()
    inner = {m for m in graph if m.startswith("ml_action.adapters.registry.")}
    assert {"ml_action.adapters.registry.base", "ml_action.adapters.registry.s3"} <= inner, (
        "the walker found no registry modules"
    )
    users = set()
    for name, deps in graph.items():
        if name == "ml_action.adapters.registry" or name.startswith("ml_action.adapters.registry."):
            continue
        assert not deps & inner, f"{name} imports {sorted(deps & inner)}: import them from ml_action.adapters.registry"
        if "ml_action.adapters.registry" in deps:
            users.add(name)
    assert "ml_action.modes" in users and "ml_action.api" in users, users


def test_the_registry_face_loads_lazily_and_every_name_resolves() -> None:
    """``import ml_action.adapters.registry`` loads none of its modules; each exported name loads its own,
    never boto3."""
    code = (
        "import sys, ml_action.adapters.registry as r\n"
        "print(sorted(m for m in sys.modules if m.startswith('ml_action.adapters.registry.')))\n"
        "print(sorted(n for n in r.__all__ if getattr(r, n, None) is None))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    loaded, missing, boto = out.stdout.splitlines()
    assert (loaded, missing, boto) == ("[]", "[]", "[]"), out.stdout


def test_no_module_is_too_long() -> None:
    long = {
        name: n
        for name, path in _modules().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, long


def test_only_the_entry_reads_the_process_environment() -> None:
    readers = set()
    for name, path in _modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("environ", "getenv")
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
            ):
                readers.add(name)
    assert readers <= ENV_READERS, readers - ENV_READERS
