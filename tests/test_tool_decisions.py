"""Two-stage tool use on the bundled models (models/tooluse.py): the embedding model decides
whether and which tools to call, the chat model fills the arguments under each tool's schema —
through the SDK, the OpenAI, Responses and Anthropic shapes and the agent loop."""

from __future__ import annotations

import json

import httpx
import pytest

from fmstack.agents import function_tool
from fmstack.agents.loop import Agent, Limits
from fmstack.errors import ModelError
from fmstack.models import tooluse
from fmstack.models.types import GenerationParams, Message, Usage


def fn(name: str, description: str, props: dict, required: list[str]) -> dict:
    params = {"type": "object", "properties": props, "required": required}
    return {"type": "function", "function": {"name": name, "description": description, "parameters": params}}


WEATHER = fn(
    "get_weather",
    "Get the current weather of a city.",
    {
        "city": {"type": "string", "description": "The city"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    ["city"],
)
ADD = fn("add", "Add two integers.", {"a": {"type": "integer"}, "b": {"type": "integer"}}, ["a", "b"])
EMAIL = fn(
    "send_email",
    "Send an email to someone.",
    {"to": {"type": "string", "description": "Recipient address"}, "body": {"type": "string"}},
    ["to", "body"],
)
TOOLS = [WEATHER, ADD, EMAIL]


def ask(fm, text: str, choice="auto", tools=TOOLS, max_tokens=128):
    params = GenerationParams(max_tokens=max_tokens, temperature=0, tools=tools, tool_choice=choice)
    return fm.models.chat().generate([Message("user", text)], params)


def test_auto_calls_the_tool_a_request_asks_for_with_its_values(fm):
    weather = ask(fm, "What's the weather in Paris?")
    assert [(c.name, json.loads(c.arguments)) for c in weather.tool_calls] == [("get_weather", {"city": "Paris"})]
    assert weather.finish_reason == "tool_calls"
    add = ask(fm, "Add 2 and 3.")
    assert [(c.name, json.loads(c.arguments)) for c in add.tool_calls] == [("add", {"a": 2, "b": 3})]
    zh = ask(fm, "上海明天会下雨吗？")
    assert [(c.name, json.loads(c.arguments)) for c in zh.tool_calls] == [("get_weather", {"city": "上海"})]
    # the decision is kept: every tool's similarity and probability, the threshold, what was chosen
    d = weather.tool_decision
    assert set(d["similarity"]) == set(d["scores"]) == {"get_weather", "add", "send_email"}
    assert d["calls"] == ["get_weather"] and d["similarity"]["get_weather"] == max(d["similarity"].values())
    assert d["scores"]["get_weather"] == max(d["scores"].values()) == d["call_probability"]
    assert 0 < d["threshold"] < 1


def test_the_shipped_head_turns_away_a_similar_tool_it_is_sure_the_request_does_not_need(fm):
    embedder = fm.models.chat().embedder()
    head = tooluse.shipped_decider()
    assert head is not None and head.fits(embedder, len(embedder.embed(["x"], "query")[0]))
    joke = tooluse.decide(embedder, [Message("user", "Tell me a joke.")], TOOLS, "auto")
    # as like a tool as the similarity rule calls (send_email), but the head is sure it is not one
    assert max(joke.similarity.values()) >= tooluse.THRESHOLD and joke.call_probability < head.veto / 2
    assert joke.calls == [] and joke.reason == "no tool fits the request"
    add = tooluse.decide(embedder, [Message("user", "Add 2 and 3.")], TOOLS, "auto")
    assert add.calls == ["add"] and add.scores["add"] > head.threshold


def test_a_request_no_tool_serves_is_answered_directly(fm):
    for text in ("Write a haiku about autumn leaves.", "Tell me a joke."):
        res = ask(fm, text)
        assert not res.tool_calls and res.text.strip() and res.finish_reason in ("stop", "length")
        assert res.tool_decision["calls"] == []
        if res.tool_decision["reason"] == "the arguments would have to be invented":
            # the arguments were written, then not used: their tokens are counted with the answer's
            plain = fm.models.chat().count_message_tokens([Message("user", text)])
            assert res.usage.prompt_tokens > plain + 50


def test_a_request_for_several_things_gets_several_calls(fm):
    res = ask(fm, "What's the weather in Paris and in Rome?")
    assert sorted((c.name, json.loads(c.arguments)["city"]) for c in res.tool_calls) == [
        ("get_weather", "Paris"),
        ("get_weather", "Rome"),
    ]


def test_each_item_a_request_lists_is_a_call_in_english_and_chinese(fm):
    res = ask(fm, "What's the weather in Paris, Rome and Berlin?", tools=[WEATHER])
    assert sorted(json.loads(c.arguments)["city"] for c in res.tool_calls) == ["Berlin", "Paris", "Rome"]
    zh = ask(fm, "北京、上海和广州的天气怎么样？", tools=[WEATHER])
    assert sorted(json.loads(c.arguments)["city"] for c in zh.tool_calls) == sorted(["北京", "上海", "广州"])
    # two numbers one call holds are one call; another sentence with new numbers is another
    add = ask(fm, "Add 2 and 3, then add 10 and 20.", tools=[ADD])
    assert [json.loads(c.arguments) for c in add.tool_calls] == [{"a": 2, "b": 3}, {"a": 10, "b": 20}]


def test_further_calls_keep_what_the_request_says_of_them(fm):
    # a listed place takes its own state, not the first one's
    located = fn(
        "get_current_weather",
        "Get the current weather in a given location.",
        {"location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"}},
        ["location"],
    )
    res = ask(fm, "What's the weather like in the two cities of Boston and San Francisco?", tools=[located])
    assert [json.loads(c.arguments)["location"] for c in res.tool_calls] == ["Boston, MA", "San Francisco, CA"]
    # "the same company" is the first call's company, not a company named "company"
    lawsuits = fn(
        "lawsuit_lookup",
        "Look up lawsuit cases against a company by year.",
        {"company_name": {"type": "string", "description": "The name of the company."}, "year": {"type": "integer"}},
        ["company_name", "year"],
    )
    res = ask(
        fm,
        "List all cases against a company named 'Dara Inc' filed in 2019, Also list cases filed in the year 2018 "
        "against the same company.",
        tools=[lawsuits],
    )
    assert sorted(
        (json.loads(c.arguments)["company_name"], json.loads(c.arguments)["year"]) for c in res.tool_calls
    ) == [
        ("Dara Inc", 2018),
        ("Dara Inc", 2019),
    ]


def test_values_take_the_form_their_parameters_ask_for(fm):
    # a date and a time in the form the descriptions ask for, an option and a flag the request names
    book = fn(
        "book_table",
        "Book a table at a restaurant.",
        {
            "restaurant": {"type": "string", "description": "The restaurant's name."},
            "date": {"type": "string", "description": "The date, in the format YYYY-MM-DD."},
            "time": {"type": "string", "description": "The time, in 24-hour format 'HH:MM'."},
            "seating": {"type": "string", "enum": ["indoor", "outdoor", "bar"]},
            "private_room": {"type": "boolean", "description": "Whether to book a private room."},
        },
        ["restaurant", "date", "time"],
    )
    res = ask(
        fm,
        "Book a table at Luigi's for 7 PM on June 1st, 2024, seated outdoor, in a private room.",
        tools=[book],
    )
    assert [(c.name, json.loads(c.arguments)) for c in res.tool_calls] == [
        (
            "book_table",
            {
                "restaurant": "Luigi's",
                "date": "2024-06-01",
                "time": "19:00",
                "seating": "outdoor",
                "private_room": True,
            },
        )
    ]


def test_a_stay_a_language_and_a_code_the_description_defines_come_from_the_request(fm):
    # (the values, not the decision, are what this checks: each tool is required)
    iso = {"type": "string", "description": "Use format 'YYYY-MM-DD'."}
    hotel = fn(
        "hotel_booking",
        "Book a hotel room for a date range.",
        {"hotel_name": {"type": "string"}, "start_date": iso, "end_date": iso},
        ["hotel_name", "start_date", "end_date"],
    )
    for request in (
        "Book a room at the Plaza Hotel for 3 nights starting from June 1st, 2022.",
        "帮我预订希尔顿酒店，2022年6月1日入住，住三晚。",
    ):
        (call,) = ask(fm, request, "required", tools=[hotel]).tool_calls
        args = json.loads(call.arguments)
        assert (args["start_date"], args["end_date"]) == ("2022-06-01", "2022-06-04"), request
    speech = fn(
        "text_to_speech",
        "Convert text to spoken audio.",
        {
            "text": {"type": "string"},
            "language": {"type": "string", "enum": ["en-US", "es-ES", "zh-CN"], "default": "en-US"},
        },
        ["text"],
    )
    (call,) = ask(fm, "Read the phrase '我爱学习' aloud in Chinese.", "required", tools=[speech]).tool_calls
    assert json.loads(call.arguments)["language"] == "zh-CN"
    providers = fn(
        "get_service_providers",
        "Find service providers by service type and province.",
        {
            "service_id": {
                "type": "integer",
                "description": "For example, 1 represents cleaning service, 2 represents ironing service.",
            },
            "province_id": {
                "type": "integer",
                "description": "For example, 1 for Bangkok, 2 for Chiang Mai, 3 for Chonburi.",
            },
        },
        ["service_id"],
    )
    request = "Find a housekeeper who provides ironing services in Chonburi."
    (call,) = ask(fm, request, "required", tools=[providers]).tool_calls
    assert json.loads(call.arguments) == {"service_id": 2, "province_id": 3}


def test_a_number_labelled_with_a_parameter_s_words_and_a_tool_very_like_the_request(fm):
    scan = fn(
        "fmri_analyze",
        "Analyze fMRI data.",
        {
            "data_source": {"type": "string", "description": "The path where the data is stored."},
            "sequence_type": {"type": "string", "description": "Type of fMRI sequence"},
            "smooth": {"type": "integer", "description": "Spatial smoothing FWHM. In mm."},
            "voxel_size": {"type": "integer", "description": "Size of isotropic voxels in mm."},
        },
        ["data_source", "sequence_type", "smooth"],
    )
    request = (
        "Analyze my fMRI data in ~/data/scan.nii from a multi-band sequence, that is smoothed at 6mm "
        "with an isotropic voxel size of 2mm."
    )
    args = json.loads(ask(fm, request, "required", tools=[scan]).tool_calls[0].arguments)
    # (the model alone writes smooth 2, the voxel size, and leaves voxel_size out)
    assert (args["data_source"], args["smooth"], args.get("voxel_size")) == ("~/data/scan.nii", 6, 2)

    # the model's first values for this request are not its own (","), but the tool is so like it
    # (at least tooluse.SURE) that under auto it is called all the same
    intersect = fn(
        "functions_intersect",
        "Locate the intersection points of two functions.",
        {
            "function1": {"type": "string", "description": "First function given as a string with x as its variable."},
            "function2": {"type": "string", "description": "Second function given as a string with x as its variable."},
        },
        ["function1", "function2"],
    )
    res = ask(fm, "Find the intersection points of the functions y=3x+2 and y=2x+3.", tools=[intersect])
    assert res.tool_decision["similarity"]["functions_intersect"] >= tooluse.SURE
    assert [c.name for c in res.tool_calls] == ["functions_intersect"]


def test_several_tools_each_fill_from_their_own_part_of_the_request(fm):
    res = ask(fm, "Email bob@example.com that the report is ready, and check the weather in Oslo.")
    calls = sorted((c.name, json.loads(c.arguments)) for c in res.tool_calls)
    assert [name for name, _ in calls] == ["get_weather", "send_email"]  # one each
    assert calls[0][1]["city"] == "Oslo" and calls[1][1]["to"] == "bob@example.com"
    parts = res.tool_decision["parts"]
    assert "Oslo" in parts["get_weather"] and "bob@example.com" not in parts["get_weather"]
    assert "bob@example.com" in parts["send_email"] and "Oslo" not in parts["send_email"]


def test_options_a_request_lists_are_a_call_each_and_a_state_is_its_city_s(fm):
    events = fn(
        "find_events",
        "Find cultural events in a city.",
        {
            "event_type": {
                "type": "string",
                "enum": ["Music", "Theater", "Sports"],
                "description": "The kind of event",
            },
            "city": {"type": "string", "description": "The city"},
        },
        ["event_type", "city"],
    )
    res = ask(fm, "Find any music concerts or theater plays happening in Chicago.", tools=[events])
    assert sorted(json.loads(c.arguments)["event_type"] for c in res.tool_calls) == ["Music", "Theater"]
    # a state after a city says where the city is: one call, not one for the state
    weather = ask(fm, "What's the weather in Austin, Texas?", tools=[WEATHER])
    assert [json.loads(c.arguments)["city"] for c in weather.tool_calls] in (["Austin"], ["Austin, Texas"])


def test_required_named_and_none(fm):
    forced = ask(fm, "Tell me a joke.", choice="required")
    assert len(forced.tool_calls) >= 1 and forced.finish_reason == "tool_calls"
    named = ask(fm, "Hello!", choice={"type": "function", "function": {"name": "add"}})
    assert [c.name for c in named.tool_calls] == ["add"] and set(json.loads(named.tool_calls[0].arguments)) >= {
        "a",
        "b",
    }
    none = ask(fm, "What's the weather in Paris?", choice="none")
    assert not none.tool_calls and none.text


def test_the_agent_acts_on_the_bundled_model_and_its_trace_shows_the_decision(fm):
    def get_weather(city: str) -> dict:
        """Current weather in a city.

        Args:
            city: The city name
        """
        return {"city": city, "temp_c": 21, "sky": "sunny"}

    agent = Agent(fm.models.chat(None), [function_tool(get_weather)], protocol="native", limits=Limits(max_steps=4))
    result = agent.run("What's the weather in Paris?")
    tools = [s for s in result.steps if s.kind == "tool"]
    assert [s.tool for s in tools] == ["get_weather"] and json.loads(tools[0].arguments) == {"city": "Paris"}
    first = next(s for s in result.steps if s.kind == "model")
    assert first.decision["calls"] == ["get_weather"] and "get_weather" in first.decision["similarity"]
    assert result.stopped == "answer" and result.steps[-1].kind == "final"  # no second call of the same tool


def test_every_api_shape_gets_the_calls(server, oai):
    tools = [WEATHER, ADD]
    chat = oai.chat.completions.create(
        model="default",
        messages=[{"role": "user", "content": "What's the weather in Paris?"}],
        tools=tools,
        temperature=0,
        max_tokens=128,
    )
    call = chat.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
    with httpx.Client(base_url=server.url, timeout=120) as h:
        resp = h.post(
            "/v1/responses",
            json={
                "model": "default",
                "input": "Add 2 and 3.",
                "tools": [{"type": "function", **ADD["function"]}, {"type": "function", **WEATHER["function"]}],
                "temperature": 0,
            },
        ).json()
        calls = [o for o in resp["output"] if o["type"] == "function_call"]
        assert [(c["name"], json.loads(c["arguments"])) for c in calls] == [("add", {"a": 2, "b": 3})]
        msg = h.post(
            "/v1/messages",
            json={
                "model": "default",
                "max_tokens": 128,
                "messages": [{"role": "user", "content": "我想知道广州的天气。"}],
                "tools": [
                    {
                        "name": t["function"]["name"],
                        "description": t["function"]["description"],
                        "input_schema": t["function"]["parameters"],
                    }
                    for t in tools
                ],
            },
        ).json()
        uses = [b for b in msg["content"] if b["type"] == "tool_use"]
        assert msg["stop_reason"] == "tool_use" and [u["name"] for u in uses] == ["get_weather"]


def test_parallel_calls_turned_off_and_allowed_tools_in_every_api_shape(server):
    """parallel_tool_calls: false (OpenAI chat, Responses) and disable_parallel_tool_use (Anthropic)
    leave one call where a request asks for two; allowed_tools lets only the tools it names be
    called; hosted tools this server cannot run are refused by name."""
    ask_two = "What's the weather in Paris and in Rome?"
    weather_only = {"type": "function", "function": {"name": "get_weather"}}
    with httpx.Client(base_url=server.url, timeout=120) as h:

        def chat(**extra) -> list[tuple[str, dict]]:
            body = {"model": "default", "messages": [{"role": "user", "content": ask_two}], "temperature": 0}
            r = h.post("/v1/chat/completions", json={**body, "tools": [ADD, WEATHER], **extra})
            assert r.status_code == 200, r.text
            calls = r.json()["choices"][0]["message"].get("tool_calls") or []
            return [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls]

        assert sorted(c["city"] for _, c in chat()) == ["Paris", "Rome"]  # both, by default
        assert chat(parallel_tool_calls=False) == [("get_weather", {"city": "Paris"})]
        # only `add` may be called, and one call is required: the weather tool is not among them
        required_add = {
            "type": "allowed_tools",
            "allowed_tools": {"mode": "required", "tools": [{"type": "function", "function": {"name": "add"}}]},
        }
        assert {name for name, _ in chat(tool_choice=required_add)} == {"add"}
        auto_weather = {"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": [weather_only]}}
        assert {name for name, _ in chat(tool_choice=auto_weather)} == {"get_weather"}
        stranger = {
            "type": "allowed_tools",
            "allowed_tools": {"mode": "auto", "tools": [{"type": "function", "function": {"name": "nope"}}]},
        }
        r = h.post(
            "/v1/chat/completions",
            json={
                "model": "default",
                "messages": [{"role": "user", "content": "hi"}],
                "tools": [ADD],
                "tool_choice": stranger,
            },
        )
        assert r.status_code == 422 and "'nope', which is not among the tools" in r.json()["error"]["message"]

        tools = [{"type": "function", **ADD["function"]}, {"type": "function", **WEATHER["function"]}]
        resp = h.post(
            "/v1/responses",
            json={"model": "default", "input": ask_two, "tools": tools, "parallel_tool_calls": False, "temperature": 0},
        ).json()
        calls = [o for o in resp["output"] if o["type"] == "function_call"]
        assert [(c["name"], json.loads(c["arguments"])) for c in calls] == [("get_weather", {"city": "Paris"})]
        assert resp["parallel_tool_calls"] is False
        only_add = {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "add"}]}
        resp = h.post(
            "/v1/responses", json={"model": "default", "input": ask_two, "tools": tools, "tool_choice": only_add}
        ).json()
        assert {o["name"] for o in resp["output"] if o["type"] == "function_call"} == {"add"}
        hosted = h.post("/v1/responses", json={"model": "default", "input": "hi", "tools": [{"type": "web_search"}]})
        assert (
            hosted.status_code == 422
            and "tools of type 'web_search' are not supported" in hosted.json()["error"]["message"]
        )

        anthropic_tools = [
            {
                "name": "get_weather",
                "description": "Get the current weather of a city.",
                "input_schema": WEATHER["function"]["parameters"],
            }
        ]
        body = {
            "model": "default",
            "max_tokens": 200,
            "messages": [{"role": "user", "content": ask_two}],
            "tools": anthropic_tools,
        }
        both = h.post("/v1/messages", json=body).json()
        assert sorted(b["input"]["city"] for b in both["content"] if b["type"] == "tool_use") == ["Paris", "Rome"]
        one = h.post(
            "/v1/messages", json={**body, "tool_choice": {"type": "auto", "disable_parallel_tool_use": True}}
        ).json()
        assert [(b["name"], b["input"]) for b in one["content"] if b["type"] == "tool_use"] == [
            ("get_weather", {"city": "Paris"})
        ]
        server_tool = h.post(
            "/v1/messages", json={**body, "tools": [{"type": "web_search_20250305", "name": "web_search"}]}
        )
        assert server_tool.status_code == 400 and "web_search_20250305" in server_tool.json()["error"]["message"]


FIND_TRIPS = fn(
    "find_trips",
    "Find dive trips, by destination and/or month of travel",
    {"destination": {"type": "string"}, "month": {"anyOf": [{"type": "integer"}, {"type": "null"}], "title": "Month"}},
    [],
)
BOOK_TRIP = fn(
    "book_trip",
    "Book a dive trip for a number of divers",
    {
        "body": {
            "type": "object",
            "properties": {
                "trip_id": {"type": "string", "description": "The id of a trip from /trips"},
                "divers": {"type": "integer", "description": "How many divers"},
                "name": {"type": "string", "description": "Name of the person booking"},
                "month": {"type": "integer", "title": "Month", "description": "Month of travel, 1-12"},
            },
            "required": ["trip_id", "divers", "name", "month"],
        }
    },
    ["body"],
)
TRIPS = [
    {"id": "EG-LOB-05", "destination": "Red Sea, Egypt", "title": "5-night Red Sea liveaboard", "months": [3, 4, 5]},
    {"id": "BZ-BH-DAY", "destination": "Belize", "title": "Great Blue Hole day trip, 3 dives", "months": [1, 5, 12]},
    {"id": "MY-SIP-3D", "destination": "Sipadan, Malaysia", "title": "3 days Sipadan and Mabul", "months": [5, 6]},
]


def test_an_id_the_request_lacks_is_looked_up_first_then_taken_from_the_results(fm):
    request = [Message("user", "Book the Great Blue Hole day trip for 2 divers in May, the name is Ana Silva.")]
    params = GenerationParams(max_tokens=200, temperature=0, tools=[FIND_TRIPS, BOOK_TRIP], tool_choice="auto")
    first = fm.models.chat().generate(request, params)
    # book_trip fits the request best, but its trip_id would be invented: find_trips goes first
    assert [c.name for c in first.tool_calls] == ["find_trips"]
    assert json.loads(first.tool_calls[0].arguments).get("month") == 5  # "May", as the tool's integer
    assert (
        first.tool_decision["reason"]
        == "book_trip needs trip_id, which the conversation does not hold: find_trips first"
    )
    found = [
        *request,
        Message("assistant", "", tool_calls=first.tool_calls),
        Message("tool", json.dumps(TRIPS), tool_call_id=first.tool_calls[0].id, name="find_trips"),
    ]
    second = fm.models.chat().generate(found, params)
    assert [c.name for c in second.tool_calls] == ["book_trip"]
    body = json.loads(second.tool_calls[0].arguments)["body"]
    # of three trips the one the request is about (not the first listed); the month by name
    assert body["trip_id"] == "BZ-BH-DAY" and body["month"] == 5 and body["divers"] == 2
    booked = [
        *found,
        Message("assistant", "", tool_calls=second.tool_calls),
        Message("tool", json.dumps({"id": "BK-0001", "trip_id": "BZ-BH-DAY"}), tool_call_id=second.tool_calls[0].id),
    ]
    done = fm.models.chat().generate(booked, params)  # both called: the results are answered, no further call
    assert not done.tool_calls and done.tool_decision["calls"] == []


def test_arguments_that_never_parse_end_in_a_direct_answer_or_a_clear_error(fm, monkeypatch):
    # the fill is scripted here (a model whose output is no JSON, twice); the decision is the real one
    chat = fm.models.chat()
    monkeypatch.setattr(chat, "_json_answer", lambda messages, schema, params: ("{oops", Usage(7, 3), "stop"))
    res = ask(fm, "What's the weather in Paris?")
    assert not res.tool_calls and res.text.strip() and res.finish_reason in ("stop", "length")
    assert res.tool_decision["calls"] == [] and "did not fit its schema" in res.tool_decision["reason"]
    assert res.usage.prompt_tokens > 14  # the two tries are counted with the answer
    named = {"type": "function", "function": {"name": "get_weather"}}
    with pytest.raises(ModelError, match="get_weather did not fit its schema"):
        ask(fm, "What's the weather in Paris?", choice=named)


def test_a_further_tool_whose_arguments_would_be_invented_is_not_called(fm, monkeypatch):
    # the decision is the real one (two tools for two asks); the fill is scripted: the weather's
    # city comes from the request, the sum's numbers do not
    chat = fm.models.chat()
    request = "What's the weather in Paris, and also add 2 and 3?"
    decided = ask(fm, request)
    assert {c.name for c in decided.tool_calls} == {"get_weather", "add"}  # what the real fill gives

    def scripted(messages, schema, params):
        props = (schema.get("items") or schema).get("properties") or {}
        return (json.dumps({"city": "Paris"} if "city" in props else {"a": 17, "b": 99}), Usage(5, 5), "stop")

    monkeypatch.setattr(chat, "_json_answer", scripted)
    res = ask(fm, request)
    assert [(c.name, json.loads(c.arguments)) for c in res.tool_calls] == [("get_weather", {"city": "Paris"})]
    assert res.tool_decision["calls"] == ["get_weather"]
    assert "not add: its arguments would have to be invented" in res.tool_decision["reason"]
