"""Ingestion embedded on a real Ray cluster (a head and a second node on loopback): the same chunks
and vectors as a local run, with batches embedded on both nodes."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import TEST_CONFIG

from fmstack import Fmstack, Settings
from fmstack.errors import ConfigError

ray = pytest.importorskip("ray")
pytestmark = [pytest.mark.model, pytest.mark.slow]

DATA = Path(__file__).parent.parent / "bench" / "data"
CORPUS = [DATA / "retrieval" / "docs", DATA / "answers" / "docs"]  # English and Chinese


def settings(data: Path, **env: str) -> Settings:
    return Settings.from_env(env={"FMSTACK_DATA_DIR": str(data), **env}, config=copy.deepcopy(TEST_CONFIG))


def chunks(fm: Fmstack, kb: str) -> dict[tuple[str, int], tuple[str, np.ndarray]]:
    """Each chunk's text and vector, by file name and position."""
    from sqlalchemy import select

    from fmstack.store import KbChunk, KbDocument

    with fm.db.session() as s:
        rows = s.execute(
            select(KbDocument.source, KbChunk.seq, KbChunk.text, KbChunk.embedding)
            .join(KbDocument, KbDocument.id == KbChunk.document_id)
            .where(KbChunk.kb_id == fm.knowledge.get(kb).id)
        ).all()
    return {
        (Path(source).name, seq): (text, np.frombuffer(vec, dtype=np.float32) if vec else None)
        for source, seq, text, vec in rows
    }


@pytest.fixture(scope="module")
def cluster():
    """A real Ray cluster of two nodes on this machine: a head and a second node (its own raylet
    and object store), one CPU each."""
    from ray.cluster_utils import Cluster

    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    c.add_node(num_cpus=1)
    c.wait_for_nodes()
    yield c.address
    ray.shutdown()
    c.shutdown()


def test_ingestion_on_a_two_node_ray_cluster_matches_a_local_run(tmp_path, cluster):
    remote = Fmstack(settings(tmp_path / "ray", FMSTACK_RAY_ADDRESS=cluster))
    local = Fmstack(settings(tmp_path / "local"))
    try:
        for fm in (local, remote):
            fm.knowledge.create("corpus", chunking={"chunk_size": 60})
            report = fm.knowledge.ingest("corpus", [str(p) for p in CORPUS])
            assert report.count("failed") == 0 and fm.knowledge.get("corpus").documents >= 30
        here, there = chunks(local, "corpus"), chunks(remote, "corpus")
        assert here.keys() == there.keys() and len(here) > 128  # more than two embedding batches
        for key, (text, vec) in here.items():
            assert there[key][0] == text
            if vec is None:  # a parent chunk: not embedded
                assert there[key][1] is None
            else:
                # batches split differently on the nodes: in bfloat16 (CPUs with AMX) the padding
                # changes the last bits, so the vectors agree in direction, not bit for bit
                cosine = float(there[key][1] @ vec / (np.linalg.norm(there[key][1]) * np.linalg.norm(vec)))
                assert cosine > 0.9995, (key, cosine)
        per_node = remote.models.cluster().stats(remote.knowledge.get("corpus").embedding_model)
        assert len({s["node"] for s in per_node}) == 2 and all(s["batches"] > 0 for s in per_node), per_node
        # searched like any other knowledge base
        hit = remote.knowledge.retrieve("corpus", "coral reef bleaching")[0]
        assert hit.text == local.knowledge.retrieve("corpus", "coral reef bleaching")[0].text
    finally:
        remote.close()
        local.close()


def test_a_batch_answered_on_a_two_node_ray_cluster_matches_a_local_run(tmp_path, cluster):
    """Each node answers lines through its own fmstack application; the job records them once."""
    questions = ["Name a fruit.", "Name a color.", "Name an animal.", "Name a city.", "2+2=?", "Say hi."]
    lines = [
        {
            "custom_id": f"q{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {
                "model": "smollm2-solo",  # one request at a time: greedy answers independent of the mix
                "messages": [{"role": "user", "content": q}],
                "max_tokens": 12,
                "temperature": 0,
            },
        }
        for i, q in enumerate(questions)
    ]
    lines.append({**lines[0], "custom_id": "bad", "body": {"model": "no-such-model", "messages": []}})
    data = ("\n".join(json.dumps(x) for x in lines) + "\n").encode()
    answers = {}
    for where, env in (("local", {}), ("ray", {"FMSTACK_RAY_ADDRESS": cluster})):
        fm = Fmstack(settings(tmp_path / where, **env))
        try:
            batch = fm.batches.create(fm.files.create("in.jsonl", "batch", data).id, "/v1/chat/completions")
            done = wait_for_batch(fm, batch.id)
            assert done.status == "completed" and done.counts == {"total": 7, "completed": 6, "failed": 1}, done
            out = [json.loads(x) for x in fm.files.content(done.output_file_id).decode().splitlines()]
            answers[where] = {r["custom_id"]: r["response"]["body"]["choices"][0]["message"]["content"] for r in out}
            if env:
                from fmstack.server.internal import LineServer

                nodes = fm.models.cluster()
                per_node = nodes.stats_of(nodes.pool("lines", LineServer, fm.settings))  # the pool the batch used
                assert len({s["node"] for s in per_node}) == 2 and all(s["lines"] > 0 for s in per_node), per_node
        finally:
            fm.close()
    assert answers["ray"] == answers["local"] and len(answers["local"]) == 6


def wait_for_batch(fm: Fmstack, batch_id: str, timeout: float = 600):
    deadline = time.monotonic() + timeout
    while (b := fm.batches.get(batch_id)).status not in ("completed", "failed", "cancelled"):
        assert time.monotonic() < deadline, b
        time.sleep(0.2)
    return b


def test_a_ray_address_nothing_answers_at_is_a_clear_error(tmp_path):
    fm = Fmstack(settings(tmp_path, FMSTACK_RAY_ADDRESS="127.0.0.1:1"))
    try:
        fm.knowledge.create("kb")
        with pytest.raises(ConfigError, match="Ray cluster at 127.0.0.1:1"):
            fm.models.cluster()
    finally:
        fm.close()
