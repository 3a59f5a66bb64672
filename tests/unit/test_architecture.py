"""The shape of the package that a newcomer relies on: the import graph of ``ml_action`` has no circle
(imports inside functions and type-checking-only imports included), the core imports no adapter and adapters
import no orchestration, no module is over ~400 lines, only the entries read the process environment, and no
mode module imports another mode module."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "ml_action"
MAX_LINES = 420
ENV_READERS = {"ml_action.cli", "ml_action.context", "ml_action.api"}  # api: a library entry point
# the layers: the core computes (no network, no environment, no runner); adapters talk to the outside world;
# orchestration (the evaluation pipeline and the modes) calls both
CORE = {
    f"ml_action.{m}"
    for m in (
        "champion compare decide decision drift fmt health leakage metrics monitor_rules profile resample stats "
        "stattests"
    ).split()
}
ADAPTERS = {f"ml_action.{m}" for m in "cluster github_api posting registry runner terminal".split()}
ORCHESTRATION = {f"ml_action.{m}" for m in "checks cli evaluation modes promotion publishing rescore search".split()}


def _in(name: str, layer: set[str]) -> bool:
    return any(name == m or name.startswith(m + ".") for m in layer)


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


def _graph() -> dict[str, set[str]]:
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
    assert len(core) == len(CORE), set(CORE) - set(core)
    for name in core:
        bad = {d for d in graph[name] if _in(d, ADAPTERS) or _in(d, ORCHESTRATION)}
        assert not bad, f"{name} (core) imports {bad}"


def test_adapters_import_no_orchestration() -> None:
    graph = _graph()
    for name in (m for m in graph if _in(m, ADAPTERS)):
        bad = {d for d in graph[name] if _in(d, ORCHESTRATION)}
        assert not bad, f"{name} (adapter) imports {bad}"


def test_the_layer_checker_sees_a_breach() -> None:
    assert _in("ml_action.registry.base", ADAPTERS) and _in("ml_action.modes.evaluate", ORCHESTRATION)
    assert not _in("ml_action.registryx", ADAPTERS)


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
