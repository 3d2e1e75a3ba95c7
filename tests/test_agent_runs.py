"""Agent sessions (earlier turns remembered, turns stored in a conversation), replay of a run from
its recorded tool results, and plan-then-execute — with the bundled model and a real booking API."""

from __future__ import annotations

from agent_fixtures import booking_api  # noqa: F401 - a fixture
from test_platform_api import sse_events

from fmstack.agents.service import _replayed
from fmstack.agents.tools import function_tool


def test_a_session_remembers_earlier_turns(fm, booking_api):
    fm.agents.create(
        {
            "name": "desk-session",
            "instructions": "You help divers.",
            "limits": {"max_steps": 2},
            "tools": [{"type": "openapi", "spec_url": f"{booking_api}/openapi.json", "base_url": booking_api}],
        }
    )
    first = fm.agents.run("desk-session", "My name is Ingrid and I dive in Egypt.", session="new")
    assert first.session and first.status in ("answer", "max_steps")
    conv = fm.conversations.get(first.session)
    assert [m.role for m in conv.messages] == ["user", "assistant"] and conv.meta["agent"] == "desk-session"
    assert conv.messages[1].meta["run"] == first.id
    memory = fm.agents._memory(fm.agents.get("desk-session"), first.session, "What is my name?")
    assert memory[0].content == "My name is Ingrid and I dive in Egypt." and memory[1].role == "assistant"
    second = fm.agents.run("desk-session", "What is my name?", session=first.session)
    assert second.session == first.session
    assert len(fm.conversations.get(first.session).messages) == 4
    assert [r.id for r in fm.agents.runs(session=first.session)] == [second.id, first.id]


def test_a_replay_answers_tool_calls_from_the_recording(fm, booking_api):
    fm.agents.create(
        {
            "name": "desk-replay",
            "first_tool": "list_sites",
            "limits": {"max_steps": 2},
            "tools": [{"type": "openapi", "spec_url": f"{booking_api}/openapi.json", "base_url": booking_api}],
        }
    )
    original = fm.agents.run("desk-replay", "Which dive sites are in Egypt?")
    recorded = [s for s in original.steps if s["kind"] == "tool"]
    assert recorded and recorded[0]["ok"]
    replay = list(fm.agents.replay(original.id))[-1]
    assert replay.replay_of == original.id and replay.id != original.id
    again = [s for s in replay.steps if s["kind"] == "tool"]
    assert again[0]["arguments"] == recorded[0]["arguments"]  # greedy decoding: the same call
    assert again[0]["content"] == recorded[0]["content"]  # answered from the recording


def test_replayed_tools_never_call_out():
    calls = []

    def book(site: str) -> str:
        """Book a dive.

        Args:
            site: the site
        """
        calls.append(site)
        return "booked"

    tool = _replayed(function_tool(book), {("book", '{"site": "Blue Hole"}'): {"content": "B-1 booked", "ok": True}})
    assert tool.call({"site": "Blue Hole"}).content == "B-1 booked"
    other = tool.call({"site": "Sipadan"})
    assert not other.ok and "not in the recorded trace" in other.content
    assert not tool.call({"place": "x"}).ok and calls == []


def test_plan_then_execute(fm, booking_api):
    fm.agents.create(
        {
            "name": "desk-plan",
            "plan": True,
            "limits": {"max_steps": 2},
            "tools": [{"type": "openapi", "spec_url": f"{booking_api}/openapi.json", "base_url": booking_api}],
        }
    )
    run = fm.agents.run("desk-plan", "Find the dive sites in Belize and book one for 2 divers.")
    assert run.steps[0]["kind"] == "plan" and run.steps[0]["content"].strip() and run.steps[0]["tokens"] > 0
    assert run.steps[1]["kind"] == "model" and [s["index"] for s in run.steps] == list(range(len(run.steps)))


def test_sessions_and_replay_over_http(http, booking_api):
    body = {
        "name": "desk-http-session",
        "first_tool": "list_sites",
        "limits": {"max_steps": 2},
        "tools": [{"type": "openapi", "spec_url": f"{booking_api}/openapi.json", "base_url": booking_api}],
    }
    assert http.post("/api/agents", json=body).status_code == 201
    run = http.post("/api/agents/desk-http-session/runs", json={"input": "Sites in Egypt?", "session": "new"}).json()
    assert run["session"] and http.get(f"/api/conversations/{run['session']}").status_code == 200
    assert http.get("/api/agent-runs", params={"session": run["session"]}).json()["data"][0]["id"] == run["id"]
    missing = http.post("/api/agents/desk-http-session/runs", json={"input": "hi", "session": "conv_nope"})
    assert missing.status_code == 404
    with http.stream("POST", f"/api/agent-runs/{run['id']}/replay", json={"stream": True}) as s:
        events = [(k, v) for k, v in sse_events(s) if v != "[DONE]"]
    assert events[-1][0] == "run" and events[-1][1]["replay_of"] == run["id"]
    assert http.post("/api/agent-runs/run_nope/replay").status_code == 404
