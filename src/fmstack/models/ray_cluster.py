"""Work larger than one machine on a Ray cluster (`FMSTACK_RAY_ADDRESS`): one actor per node of
the cluster, made from the same configuration as this process (bundled models come from their
packages on every node), loads its models once and is sent work in turn.

- Ingestion: each actor holds the embedding model; the ingestion job sends it batches, reads the
  vectors back in order and stores them itself.
- Batch inference: each actor holds an fmstack application (server/internal.py `LineServer`) and
  answers batch lines through the same routes; the batch job records the answers itself.

Results are written once, by the coordinating job, as in a local run. `pip install 'fmstack[ray]'`;
a node joins with `ray start --address HEAD:PORT`.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..config import Settings
from ..errors import ConfigError

log = logging.getLogger(__name__)

IN_FLIGHT = 2  # batches sent to each node before the first comes back


def _answers(address: str) -> None:
    """Fail at once when nothing listens at HOST:PORT (Ray itself retries for minutes)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and the like: Ray finds the cluster
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as e:
        raise ConfigError(f"cannot join the Ray cluster at {address}: {e}") from None


class _Embedder:
    """The Ray actor: one embedding model on one node."""

    def __init__(self, settings: Settings, model: str):
        from .registry import ModelRegistry

        self.model = ModelRegistry(settings).embedding(model)
        self.batches = 0

    def embed(self, texts: Sequence[str], input_type: str) -> np.ndarray:
        self.batches += 1
        return np.asarray(self.model.embed(texts, input_type=input_type), dtype=np.float32)  # type: ignore[arg-type]

    def stats(self) -> dict[str, Any]:
        """Which node this actor runs on and how many batches it embedded."""
        import ray

        return {"node": ray.get_runtime_context().get_node_id(), "batches": self.batches}


class RayCluster:
    """The cluster at `address`: pools of one actor per node."""

    def __init__(self, address: str, settings: Settings):
        try:
            import ray
        except ImportError:
            raise ConfigError(
                "FMSTACK_RAY_ADDRESS is set but Ray is not installed: pip install 'fmstack[ray]'"
            ) from None
        self._ray = ray
        _answers(address)
        if not ray.is_initialized():
            try:
                ray.init(address=address, namespace="fmstack", log_to_driver=False)
            except Exception as e:  # no cluster answers there
                raise ConfigError(f"cannot join the Ray cluster at {address}: {e}") from None
        self.settings = settings
        self._actors: dict[str, list[Any]] = {}  # per pool (an embedding model, "lines"): one actor per node
        self._lock = threading.Lock()
        self._turn = 0  # the next batch goes to the node after the last one's

    def nodes(self) -> list[str]:
        return [n["NodeID"] for n in self._ray.nodes() if n.get("Alive")]

    def pool(self, name: str, cls: type, *args: Any) -> list[Any]:
        """One actor of `cls(*args)` per node, made on first use and kept under `name`."""
        with self._lock:
            if name not in self._actors:
                from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

                actor: Any = self._ray.remote(num_cpus=0)(cls)
                self._actors[name] = [
                    actor.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote(*args)
                    for node in self.nodes()
                ]
            return self._actors[name]

    def _pool(self, model: str) -> list[Any]:
        return self.pool(f"embed:{model}", _Embedder, self.settings, model)

    def embed(
        self,
        model: str,
        texts: Sequence[str],
        batch: int,
        on_batch: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> np.ndarray | None:
        """The texts' vectors, in order (None when there is nothing to embed); batches are spread
        over the nodes, a few in flight on each."""
        if not texts:
            return None
        pool = self._pool(model)
        starts = list(range(0, len(texts), batch))
        pending: deque = deque()
        out: list[np.ndarray] = []
        sent = 0
        while sent < len(starts) or pending:
            while sent < len(starts) and len(pending) < IN_FLIGHT * len(pool):
                i = starts[sent]
                self._turn += 1
                pending.append(pool[self._turn % len(pool)].embed.remote(list(texts[i : i + batch]), "document"))
                sent += 1
            if cancelled():
                for ref in pending:
                    self._ray.cancel(ref)
                raise InterruptedError
            out.append(self._ray.get(pending.popleft()))
            if on_batch:
                on_batch(min(len(out) * batch, len(texts)), len(texts))
        return np.concatenate(out)

    def stats(self, model: str) -> list[dict[str, Any]]:
        """Per node: the batches its actor embedded."""
        return self.stats_of(self._pool(model))

    def stats_of(self, actors: list[Any]) -> list[dict[str, Any]]:
        return self._ray.get([a.stats.remote() for a in actors])

    def close(self) -> None:
        with self._lock:
            for actors in self._actors.values():
                for a in actors:
                    self._ray.kill(a)
            self._actors.clear()
