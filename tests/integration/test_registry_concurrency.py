"""The local registry under real concurrency: four processes publish at once and no promotion is lost.

Spawns Python processes (each imports scikit-learn), so it lives here rather than in tests/unit.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from ml_action.registry.base import Registry
from ml_action.registry.local import LocalStore
from tests.unit.test_registry_local import _publish


def _worker(root: str, tmp: str) -> None:
    _publish(Registry(LocalStore(Path(root)), "model"), Path(tmp))


def test_concurrent_publishes_lose_no_promotion(tmp_path: Path) -> None:
    root = tmp_path / "reg"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(str(root), str(tmp_path))) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert all(p.exitcode == 0 for p in procs)
    registry = Registry(LocalStore(root), "model")
    assert len(registry.versions()) == 4
    events = registry.events()
    assert len(events) == 4
    # every promotion replaced exactly the champion before it: a chain with no lost update
    previous = {e["previous"] for e in events}
    versions = {e["version"] for e in events}
    assert None in previous and len(previous) == 4
    champion = registry.champion()[0]["version"]
    assert versions - previous == {champion}
