"""Ingestion embeds the chunks of several small files in one batch, and one file that cannot be
embedded is that file's failure: the others in its batch are stored."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.unit


@pytest.fixture
def calls(unit_fm, monkeypatch):
    """The texts of every embedding call; a text with POISON makes the call fail."""
    model = unit_fm.models.embedding(None)
    seen: list[list[str]] = []
    embed = model.embed

    def recording(texts, input_type="query"):
        texts = list(texts)
        seen.append(texts)
        if any("POISON" in t for t in texts):
            raise RuntimeError("the model cannot embed this")
        return embed(texts, input_type)

    monkeypatch.setattr(model, "embed", recording)
    return seen


def test_small_files_are_embedded_together_and_reported_in_order(unit_fm, calls, tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    for i in range(5):
        (folder / f"n{i}.txt").write_text(f"Note {i}: the lighthouse keeper counted {i} ships.", encoding="utf-8")
    unit_fm.knowledge.create("kb")
    report = unit_fm.knowledge.ingest("kb", [folder])
    assert [(f.source.rsplit("/", 1)[-1], f.status) for f in report.files] == [(f"n{i}.txt", "added") for i in range(5)]
    documents = [c for c in calls if c and not c[0].startswith("warm")]
    assert len(documents) == 1 and len(documents[0]) == 5  # one batch for the five files
    hits = unit_fm.knowledge.retrieve("kb", "lighthouse keeper ships", top_k=5)
    assert len({h.source for h in hits}) == 5
    assert report.progress["files_done"] == 5 and report.progress["percent"] == 100.0


def test_a_file_that_cannot_be_embedded_fails_alone(unit_fm, calls, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "a.txt").write_text("Alpha station reports clear skies.", encoding="utf-8")
    (folder / "b.txt").write_text("POISON pill in the middle of the batch.", encoding="utf-8")
    (folder / "c.txt").write_text("Charlie station reports heavy rain.", encoding="utf-8")
    unit_fm.knowledge.create("kb2")
    report = unit_fm.knowledge.ingest("kb2", [folder])
    outcome = {f.source.rsplit("/", 1)[-1]: f for f in report.files}
    assert [outcome[n].status for n in ("a.txt", "b.txt", "c.txt")] == ["added", "failed", "added"]
    assert "could not be embedded" in outcome["b.txt"].reason and "cannot embed this" in outcome["b.txt"].reason
    assert len(calls[0]) == 3 and [len(c) for c in calls[1:]] == [1, 1, 1]  # together, then one by one
    sources = {h.source.rsplit("/", 1)[-1] for h in unit_fm.knowledge.retrieve("kb2", "station reports", top_k=5)}
    assert sources == {"a.txt", "c.txt"}
    # the same folder again: the good files are unchanged, the bad one is tried again and fails again
    again = unit_fm.knowledge.ingest("kb2", [folder])
    assert sorted(f.status for f in again.files) == ["failed", "unchanged", "unchanged"]
