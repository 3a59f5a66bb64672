"""Where the joblib-parallel work of a run goes: the runner's own cores, or a Dask cluster.

``connect(address, runner)`` opens a ``distributed.Client`` before any training (an unreachable or
misconfigured scheduler is a ``UserError`` on ``dask-scheduler``), and while it is open joblib's ``dask``
backend is the default, so every joblib-parallel part of fit, CV and search (candidates, folds, trees) is a
task on the cluster. No scheduler of ours: Dask schedules, joblib splits the work.

TLS and authentication are Dask's own: a ``tls://`` address with the certificates named by the
``DASK_DISTRIBUTED__COMM__TLS__*`` variables (``distributed.Security()`` reads them), and the connect
timeout from ``DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT``, capped at 30 s.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ml_action.errors import UserError, first_line

if TYPE_CHECKING:
    from ml_action.adapters.runner import Runner

MAX_CONNECT_SECONDS = 30.0


@dataclass
class Place:
    """Where joblib runs: ``client`` is ``None`` for local cores."""

    address: str = ""
    workers: int = 0
    threads: int = 0
    client: Any = None

    def describe(self) -> str:
        if self.client is None:
            return f"the runner's {self.threads} core{'s' if self.threads != 1 else ''} (local joblib)"
        # no address: it may be a secret, and this text goes to the PR comment
        return (
            f"a Dask cluster of {self.workers} worker{'s' if self.workers != 1 else ''}, "
            f"{self.threads} thread{'s' if self.threads != 1 else ''}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "dask": self.client is not None,
            "workers": self.workers,
            "threads": self.threads,
            "text": self.describe(),
        }

    @contextlib.contextmanager
    def backend(self, *data: Any) -> Iterator[None]:
        """joblib's backend for one parallel job; on Dask, ``data`` is scattered to the workers once for the
        whole job instead of being sent with every task."""
        if self.client is None:
            yield
            return
        import joblib

        with joblib.parallel_backend("dask", scatter=list(data) or None):
            yield


def _timeout() -> float:
    import dask.config
    from dask.utils import parse_timedelta

    configured = parse_timedelta(dask.config.get("distributed.comm.timeouts.connect", "30s"), default="seconds")
    return min(float(configured or MAX_CONNECT_SECONDS), MAX_CONNECT_SECONDS)


@contextlib.contextmanager
def connect(address: str, runner: Runner) -> Iterator[Place]:
    """Connect to ``address`` (empty: local cores) and make Dask joblib's default backend until the end."""
    if not address:
        import joblib

        yield Place(threads=joblib.cpu_count())  # what n_jobs=-1 uses (CPU affinity and cgroup quotas counted)
        return
    try:
        import joblib
        from distributed import Client
    except ImportError:
        raise UserError(
            "dask-scheduler",
            "is set, but dask and distributed are not installed",
            "Use the ml-action image, or `pip install 'ml-action[dask]'`.",
        ) from None
    timeout = _timeout()
    with runner.group("Connect to the Dask cluster"):
        try:
            client = Client(address, timeout=timeout)
        except Exception as exc:  # anything the connection raises is about the address, the network or TLS
            raise UserError(
                "dask-scheduler",
                f"cannot connect to the Dask scheduler at {address!r}: {type(exc).__name__}: {first_line(exc, 300)}",
                "Check the address (tcp://host:8786 or tls://host:8786), that the scheduler runs and "
                "is reachable from the runner, and for tls:// the DASK_DISTRIBUTED__COMM__TLS__* "
                "certificate variables.",
            ) from None
        try:
            try:
                client.wait_for_workers(1, timeout=timeout)
            except Exception:  # noqa: BLE001  (distributed raises TimeoutError here, wrapped differently by version)
                raise UserError(
                    "dask-scheduler",
                    f"the Dask scheduler at {address!r} has no workers (waited {timeout:g} s)",
                    "Start workers (`dask worker <address>`) or scale the cluster up.",
                ) from None
            threads = client.nthreads()  # {worker address: threads}, every worker
            place = Place(address=address, workers=len(threads), threads=sum(threads.values()), client=client)
            runner.info(f"joblib runs on {place.describe()} at {address}")
        except BaseException:
            client.close()
            raise
    try:
        with joblib.parallel_backend("dask"):
            yield place
    finally:
        client.close()
