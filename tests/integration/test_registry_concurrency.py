"""The registry under real concurrency: no promotion and no alias move is lost, and the race checks can
tell when one is.

Four processes publish at once to the local registry (each imports scikit-learn, so this lives here rather
than in tests/unit). On S3 the races run on a store whose conditional writes are atomic, as AWS S3's are
(the session's moto server, see ``moto_server.py``), and again on a store that evaluates the same conditions
but not atomically (the fault proxy's ``check_then_write``): there two writers pass the same condition, the
pointer's history forks, and ``chain_fork`` must say so; a race test that passed there would prove nothing.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ml_action.adapters.registry.base import Registry
from ml_action.adapters.registry.local import LocalStore
from ml_action.adapters.registry.s3 import S3Store
from ml_action.config import Config
from ml_action.records.artifacts import MODEL_FILE
from tests.integration.test_registry_local import _publish

try:  # tests/ as a package, or (the default) rootdir-relative imports with tests/integration on sys.path
    from .moto_server import MotoServer
    from .s3_faults import FaultProxy
except ImportError:
    from moto_server import MotoServer  # type: ignore[no-redef]
    from s3_faults import FaultProxy  # type: ignore[no-redef]

ConfigFactory = Callable[..., Config]
ALIAS_KEY = "aliases/canary.json"
CHAMPION_KEY = "model/champion.json"


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


# ---------------------------------------------------------------------- the race checks


def chain_fork(steps: list[tuple[Any, Any]], now: Any) -> str:
    """``""`` when the swaps, in the order they were made (``(replaced, new)`` each), form one chain from
    nothing to ``now``; else what forked it: two writers that replaced the same state."""
    expected = None
    for number, (replaced, new) in enumerate(steps, 1):
        if replaced != expected:
            return f"swap {number} replaced {replaced!r} where the swap before it had left {expected!r}"
        expected = new
    return "" if expected == now else f"the pointer says {now!r} but the last swap wrote {expected!r}"


def alias_chain(registry: Registry, name: str) -> list[tuple[Any, Any]]:
    events = sorted((e for e in registry.events() if e.get("alias") == name), key=lambda e: e["at"])
    return [(e["previous"], e["to"]) for e in events]


def promotion_chain(registry: Registry) -> list[tuple[Any, Any]]:
    events = sorted((e for e in registry.events() if e["kind"] == "promote"), key=lambda e: e["at"])
    return [(e["previous"], e["version"]) for e in events]


# ---------------------------------------------------------------------- the races on S3


def _open(config: Config) -> Registry:
    return Registry(S3Store.from_config(config, dict(os.environ)), "model")


def _race(registries: list[Registry], work: Callable[[int, Registry], Any]) -> list[Any]:
    """Run ``work(i, registry)`` on one thread per registry, all released at once; the results in order."""
    barrier = threading.Barrier(len(registries))
    results: list[Any] = [None] * len(registries)

    def run(i: int) -> None:
        barrier.wait(timeout=60)
        results[i] = work(i, registries[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(registries))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    assert all(r is not None for r in results), results
    return results


def race_alias_setters(open_registry: Callable[[], Registry], model_file: Path, setters: int) -> tuple[str, int]:
    """``setters`` runs, each with its own client, point ``canary`` at v1 or v2 at once: the chain's fork
    (``""`` if none) and how many setters changed the alias."""
    first = open_registry()
    for _ in range(2):
        version = first.allocate_version({})
        first.write_version(version, model_file, {})
    shas = {v: first.manifest(v)["artifacts"][MODEL_FILE]["sha256"] for v in ("v1", "v2")}
    registries = [open_registry() for _ in range(setters)]
    for registry in registries:
        registry.store.ensure_conditional_writes()  # type: ignore[attr-defined]  # the probe, before the race

    def work(i: int, registry: Registry) -> bool:
        version = ("v1", "v2")[i % 2]
        return registry.swap_alias("canary", version, shas[version], f"t{i}")[0]

    changed = _race(registries, work)
    pointer = first.alias("canary")
    chain = alias_chain(first, "canary")
    assert len(chain) == changed.count(True) >= 1  # every setter that says it changed the alias left an event
    return chain_fork(chain, pointer["version"] if pointer else None), changed.count(True)


def race_publishers(open_registry: Callable[[], Registry], model_file: Path, publishers: int) -> tuple[str, int]:
    """``publishers`` runs write a version each and promote it at once: the chain's fork and the promotions."""
    registries = [open_registry() for _ in range(publishers)]
    versions = []
    for registry in registries:
        version = registry.allocate_version({})
        manifest = registry.write_version(version, model_file, {})
        versions.append((version, manifest["artifacts"][MODEL_FILE]["sha256"]))

    def work(i: int, registry: Registry) -> bool:
        return registry.swap_champion(*versions[i], f"job{i}", "promote", lambda current: (True, "")).promoted

    promoted = _race(registries, work)
    champion, _ = registries[0].champion()
    chain = promotion_chain(registries[0])
    assert len(chain) == promoted.count(True) == publishers  # each promotion was applied and left its event
    return chain_fork(chain, champion["version"] if champion else None), publishers


@pytest.fixture
def non_atomic(moto_endpoint: str) -> Iterator[FaultProxy]:
    """A store that honours the conditions one request at a time, but checks and writes in two steps."""
    proxy = FaultProxy(moto_endpoint, conditions="check_then_write").start()
    yield proxy
    proxy.stop()


RACES = {"alias setters": (race_alias_setters, ALIAS_KEY, 6), "publishers": (race_publishers, CHAMPION_KEY, 4)}


@pytest.mark.parametrize("race", list(RACES))
def test_races_on_a_store_with_atomic_conditional_writes_form_one_chain(
    race: str, s3_config: ConfigFactory, model_file: Path, moto_server: MotoServer
) -> None:
    run, _, writers = RACES[race]
    assert moto_server.atomic is not None
    before = moto_server.atomic.conditional_writes
    fork, changes = run(lambda: _open(s3_config()), model_file, writers)
    assert fork == "" and changes >= 1
    assert moto_server.atomic.conditional_writes - before >= writers  # the writes went through the lock


@pytest.mark.parametrize("race", list(RACES))
def test_races_on_a_store_without_atomic_conditional_writes_are_caught_forking(
    race: str, s3_config: ConfigFactory, model_file: Path, non_atomic: FaultProxy
) -> None:
    """The same races, with two writers let through the same condition: the check names the fork."""
    run, key, writers = RACES[race]
    non_atomic.race(2, key)
    fork, _ = run(lambda: _open(s3_config(s3_endpoint_url=non_atomic.url)), model_file, writers)
    assert fork.startswith("swap 2 replaced None where the swap before it had left 'v"), fork


def test_racing_conditional_puts_on_the_test_store_are_atomic(s3_client: Any, bucket: str) -> None:
    """Eight PUTs carrying the same If-Match, ten rounds: exactly one lands each time (raw moto let two or more
    through in 3 of 20 such rounds)."""
    import boto3
    from botocore.exceptions import ClientError

    clients = [boto3.client("s3", endpoint_url=s3_client.meta.endpoint_url) for _ in range(8)]

    def put(etag: str, i: int, client: Any) -> bool:
        try:
            client.put_object(Bucket=bucket, Key="k", Body=str(i).encode(), IfMatch=etag)
        except ClientError as exc:
            assert exc.response["ResponseMetadata"]["HTTPStatusCode"] in (409, 412)
            return False
        return True

    for _ in range(10):
        etag = s3_client.put_object(Bucket=bucket, Key="k", Body=b"start")["ETag"]
        wins = _race(clients, functools.partial(put, etag))  # type: ignore[arg-type]
        assert wins.count(True) == 1
        assert s3_client.get_object(Bucket=bucket, Key="k")["Body"].read() == str(wins.index(True)).encode()
