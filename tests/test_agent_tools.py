"""Agent tools: typed functions, a real local HTTP API described by its OpenAPI document, and
knowledge-base retrieval; arguments validated first, failures returned as observations."""

from __future__ import annotations

from typing import Literal

import httpx
import kb_fixtures
import pytest
from agent_fixtures import booking_api  # noqa: F401 - a fixture

from fmstack.agents import function_tool, knowledge_tool, openapi_tools
from fmstack.errors import InvalidInput


def book_dive(site: str, divers: int, date: str, level: Literal["open water", "advanced"] = "open water") -> dict:
    """Book a dive trip.

    Args:
        site: The dive site, e.g. Blue Hole
        divers: How many divers
        date: ISO date of the dive
        level: Certification needed
    """
    if divers > 8:
        raise ValueError("boats take at most 8 divers")
    return {"booking": "B-1", "site": site, "divers": divers, "level": level}


def test_function_tool_schema_comes_from_signature_and_docstring():
    tool = function_tool(book_dive)
    spec = tool.to_openai()["function"]
    assert spec["name"] == "book_dive" and spec["description"] == "Book a dive trip."
    props = spec["parameters"]["properties"]
    assert props["divers"] == {"type": "integer", "description": "How many divers"}
    assert props["level"]["enum"] == ["open water", "advanced"] and props["level"]["default"] == "open water"
    assert spec["parameters"]["required"] == ["site", "divers", "date"]
    assert spec["parameters"]["additionalProperties"] is False


def test_arguments_are_validated_and_failures_become_observations():
    tool = function_tool(book_dive)
    ok = tool.call('{"site": "Blue Hole", "divers": 2, "date": "2026-12-01"}')
    assert ok.ok and ok.data == {"booking": "B-1", "site": "Blue Hole", "divers": 2, "level": "open water"}
    bad = tool.call({"site": "Blue Hole", "divers": "many", "extra": 1})
    assert not bad.ok and "divers" in bad.content and "date: Field required" in bad.content and "extra" in bad.content
    boom = tool.call({"site": "Blue Hole", "divers": 12, "date": "2026-12-01"})
    assert not boom.ok and "boats take at most 8 divers" in boom.content
    garbled = tool.call("{site: Blue Hole")
    assert not garbled.ok and "not a JSON object" in garbled.content and '"required"' in garbled.content


def test_openapi_operations_become_tools_that_call_the_api(booking_api):
    spec = httpx.get(f"{booking_api}/openapi.json").json()
    tools = {
        t.name: t for t in openapi_tools(spec, base_url=booking_api, confirm=lambda method, path: method == "POST")
    }
    assert set(tools) == {"list_sites", "create_booking", "get_booking", "site_notes"}
    assert tools["create_booking"].needs_confirmation and not tools["list_sites"].needs_confirmation
    body = tools["create_booking"].parameters["properties"]["body"]
    assert body["properties"]["divers"]["type"] == "integer"  # $ref inlined
    assert tools["list_sites"].call({"country": "Egypt"}).data == ["Ras Mohammed", "Thistlegorm"]
    made = tools["create_booking"].call({"body": {"site": "Blue Hole", "divers": 2}})
    assert made.ok and made.data["id"] == "B-1"
    assert tools["get_booking"].call({"booking_id": "B-1"}).data == {"site": "Blue Hole", "divers": 2}
    missing = tools["get_booking"].call({"booking_id": "B-99"})
    assert not missing.ok and "HTTP 404" in missing.content and "no such booking" in missing.content
    wrong = tools["get_booking"].call({"id": 3})
    assert not wrong.ok and "booking_id: Field required" in wrong.content and "id: Extra inputs" in wrong.content
    with pytest.raises(InvalidInput):
        openapi_tools({"openapi": "3.1.0"})


def test_knowledge_base_as_a_tool(fm, tmp_path):
    docs = kb_fixtures.build(tmp_path / "docs")
    fm.knowledge.create("kb-tool", chunking={"chunk_size": 80})
    fm.knowledge.ingest("kb-tool", [docs / "tower.pdf", docs / "eiffel.html"])
    tool = knowledge_tool(fm.knowledge, "kb-tool")
    assert tool.name == "search_kb_tool" and tool.parameters["required"] == ["query"]
    found = tool.call({"query": "How tall is the tower?", "top_k": 2})
    assert found.ok and len(found.data) == 2 and any("330" in p["text"] for p in found.data)
    assert not tool.call({"query": ""}).ok
