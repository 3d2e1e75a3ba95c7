"""MCP tools: a real MCP server (tests/mcp_server.py, the official SDK) started over stdio by the
agent's run; schemas from the server, arguments validated before the call, tool errors as
observations, an injected instruction in a tool result withheld, a confirmation that pauses the run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from fmstack.agents.mcp import MCPConnection
from fmstack.errors import InvalidInput

SERVER = [sys.executable, str(Path(__file__).with_name("mcp_server.py"))]


def test_mcp_server_tools_over_stdio():
    with MCPConnection(command=SERVER) as conn:
        tools = {t.name: t for t in conn.tools(confirm=["cancel_trip"])}
        assert set(tools) == {"convert_currency", "dive_conditions", "cancel_trip"}
        assert tools["cancel_trip"].needs_confirmation and not tools["convert_currency"].needs_confirmation
        assert tools["convert_currency"].parameters["required"] == ["amount", "source", "target"]
        assert "Convert an amount" in tools["convert_currency"].description
        ok = tools["convert_currency"].call('{"amount": 100, "source": "EUR", "target": "USD"}')
        assert ok.ok and ok.content == "100 EUR = 108.00 USD"
        bad = tools["convert_currency"].call({"amount": "lots", "source": "EUR"})
        assert (
            not bad.ok and "target: Field required" in bad.content and "'lots' is not of type 'number'" in bad.content
        )
        failed = tools["convert_currency"].call({"amount": 1, "source": "EUR", "target": "JPY"})
        assert not failed.ok and "no rate for EUR->JPY" in failed.content
        only = conn.tools(only=["dive_conditions"])
        assert [t.name for t in only] == ["dive_conditions"]
        with pytest.raises(InvalidInput, match="has no tool 'nope'"):
            conn.tools(only=["nope"])


def test_a_server_that_cannot_start_is_a_clear_error():
    with pytest.raises(InvalidInput, match="cannot connect to the MCP server"):
        MCPConnection(command=[sys.executable, "-c", "import sys; sys.exit(3)"], timeout=10).open()
    with pytest.raises(InvalidInput, match="either a command"):
        MCPConnection()


def test_stored_agent_with_an_mcp_server_and_an_injected_result(fm):
    fm.guardrails.create({"name": "mcp-guard", "attacks": {}})
    fm.agents.create(
        {
            "name": "mcp-diver",
            "instructions": "You report diving conditions. Use the tools.",
            "guardrail": "mcp-guard",
            "first_tool": "dive_conditions",
            "limits": {"max_steps": 3},
            "tools": [{"type": "mcp", "command": SERVER, "include": ["dive_conditions"]}],
        }
    )
    run = fm.agents.run("mcp-diver", "What are the diving conditions at Thistlegorm today?")
    tool = next(s for s in run.steps if s["kind"] == "tool")
    assert tool["tool"] == "dive_conditions"
    if "thistlegorm" in tool["arguments"].lower():  # the tampered feed: withheld before the model sees it
        assert not tool["ok"] and "withheld by guardrail mcp-guard" in tool["content"]
    assert "credit card" not in tool["content"].lower() and "password" not in (run.answer or "").lower()
    clean = fm.agents.run("mcp-diver", "What are the diving conditions at Blue Hole?")
    step = next(s for s in clean.steps if s["kind"] == "tool")
    assert step["ok"] and "visibility" in step["content"]


def test_mcp_tool_needing_confirmation_pauses_the_run(fm):
    fm.agents.create(
        {
            "name": "mcp-cancel",
            "first_tool": "cancel_trip",
            "limits": {"max_steps": 3},
            "tools": [{"type": "mcp", "command": SERVER, "include": ["cancel_trip"], "confirm": ["cancel_trip"]}],
        }
    )
    run = fm.agents.run("mcp-cancel", "Cancel my trip with the id T42 please")
    assert run.status == "waiting" and run.pending["name"] == "cancel_trip"
    done = fm.agents.confirm(run.id, approve=True)
    tool = next(s for s in done.steps if s["kind"] == "tool")
    assert tool["ok"] and "cancelled" in tool["content"] and done.status != "waiting"


def test_bad_mcp_definitions(fm):
    with pytest.raises(InvalidInput, match="either command"):
        fm.agents.create({"name": "no-server", "tools": [{"type": "mcp"}]})
    fm.agents.create({"name": "dead-server", "tools": [{"type": "mcp", "command": ["/nonexistent/mcp-server"]}]})
    with pytest.raises(InvalidInput, match="cannot connect to the MCP server /nonexistent/mcp-server"):
        fm.agents.run("dead-server", "hello")
    dead = fm.agents.runs("dead-server")[0]
    assert dead.status == "error" and "cannot connect to the MCP server" in dead.steps[-1]["content"]


def test_mcp_server_over_streamable_http():
    import subprocess

    from conftest import free_port, wait_until_answers

    port = free_port()
    proc = subprocess.Popen([*SERVER, "--http", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_answers(f"http://127.0.0.1:{port}/mcp")
        with MCPConnection(url=f"http://127.0.0.1:{port}/mcp", headers={"Authorization": "Bearer test"}) as conn:
            tools = {t.name: t for t in conn.tools()}
            assert set(tools) == {"convert_currency", "dive_conditions", "cancel_trip"}
            assert (
                tools["convert_currency"].call({"amount": 10, "source": "EUR", "target": "CNY"}).content
                == "10 EUR = 77.00 CNY"
            )
    finally:
        proc.terminate()
        proc.wait(10)
    with pytest.raises(InvalidInput, match="cannot connect to the MCP server http://127.0.0.1"):
        MCPConnection(url=f"http://127.0.0.1:{free_port()}/mcp", timeout=5).open()
