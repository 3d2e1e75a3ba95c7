"""The pure parts of two-stage tool use (models/tooluse.py): clauses, how many calls a request can
ask for, whether an argument comes from the conversation, the fill stage's schema and checks. The
stages themselves run on the bundled models in tests/test_tool_decisions.py."""

from __future__ import annotations

import json

import numpy as np

from fmstack.models import tooluse
from fmstack.models.types import Message, ToolCall, Usage

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
            "required": ["city"],
        },
    },
}


def test_a_request_for_several_things_splits_into_clauses_in_english_and_chinese():
    assert tooluse.clauses("Book a table for two, then send an email to Ana about it.") == [
        "Book a table for two",
        "send an email to Ana about it",
    ]
    assert tooluse.clauses("帮我查一下北京的天气，还有订一张去上海的火车票。") == [
        "帮我查一下北京的天气",
        "订一张去上海的火车票",
    ]
    assert tooluse.clauses("What's the weather?") == ["What's the weather"]
    # not inside a literal or a quotation, and a list's item is no clause of its own
    assert tooluse.clauses("Average the scores {'math': 90, 'science': 75} and plot them as bars.") == [
        "Average the scores {'math': 90, 'science': 75}",
        "plot them as bars",
    ]
    assert tooluse.clauses("Find the distance between New York City and Los Angeles.") == [
        "Find the distance between New York City"
    ]
    parts = tooluse.request_parts(
        "Find the distance between New York City and Los Angeles, then book a flight there",
        np.array([[0.9, 0.1], [0.1, 0.9]]),
        ["distance", "flight"],
        ["distance", "flight"],
    )
    assert parts == {
        "distance": "Find the distance between New York City and Los Angeles",
        "flight": "book a flight there",
    }


def test_how_many_calls_a_request_can_ask_for():
    assert tooluse.most_calls("What's the weather in Paris?") == 1
    assert tooluse.most_calls("Weather in Paris and Rome?") == 2
    assert tooluse.most_calls("北京、上海和广州的天气") == 3
    assert tooluse.most_calls(", ".join(["a"] * 20)) == tooluse.MAX_CALLS


def test_arguments_are_grounded_in_the_conversation():
    text = "What's a 15% tip on a $1,064.50 bill in Beijing?"
    assert tooluse.grounded(1064.5, text) and tooluse.grounded(15, text) and not tooluse.grounded(20, text)
    assert tooluse.grounded("beijing", text) and tooluse.grounded("a Beijing bill", text)
    assert tooluse.grounded("Tokyo", text) is False
    assert tooluse.grounded(True, text) is None and tooluse.grounded({"a": 1}, text) is None
    assert tooluse.grounding({"bill": 1064.5, "city": "Tokyo"}, text) == 0.5
    assert tooluse.grounding({"flag": False}, text) is None
    # numbers in words and Chinese numerals; a snake_case value of words the request writes apart
    dice = "What's the probability of rolling a six twice in a row? 掷两次，十二面"
    assert all(tooluse.grounded(n, dice) for n in (6, 2, 12)) and tooluse.grounded(3, dice) is False
    assert tooluse.numbers_in("三十五个, 二十, 1,200.5 and a dozen") == {35.0, 20.0, 1200.5, 12.0}
    assert tooluse.grounded("plasma_membrane", "proteins of the plasma membrane")
    zh = "北京今天天气怎么样？"
    assert tooluse.grounded("北京", zh) and tooluse.grounded("上海", zh) is False
    assert tooluse.grounded("Beijing", zh) is False  # translated by the model: not the user's own value
    # a string the grammar cut at its bound ran away, whatever words of the request it repeats
    path = "Analyze my fMRI data in ~/data/myfMRI.nii from a multi-band sequence"
    runaway = ("https://data.myfMRI.nii.io" + "/nii" * 40)[: tooluse.MAX_STRING]
    assert tooluse.grounded(runaway, path) is False and tooluse.grounded("data/myfMRI.nii", path)


def test_the_fill_schema_bounds_strings_and_the_number_of_calls():
    schema = tooluse.calls_schema(WEATHER, 2)
    assert schema["maxItems"] == 2 and schema["minItems"] == 1
    assert schema["items"]["properties"]["city"]["maxLength"] == tooluse.MAX_STRING
    assert "maxLength" not in schema["items"]["properties"]["unit"]  # an enum is bounded already
    assert "maxLength" not in WEATHER["function"]["parameters"]["properties"]["city"]  # the tool is left as it was
    # one call: the arguments object itself; a list argument without a bound gets one (a loop ends)
    listing = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {
        "items": {"type": "array", "items": {"type": "string"}}}}}}  # fmt: skip
    one = tooluse.calls_schema(listing, 1)
    assert one["type"] == "object" and one["properties"]["items"]["maxItems"] == tooluse.MAX_ITEMS


def test_a_schema_grammar_keeps_raw_control_characters_out_of_strings():
    # llama-cpp-python's converter lets a string hold a raw newline, which no JSON parser accepts
    import re

    from llama_cpp import llama_grammar

    from fmstack.models.local import schema_gbnf

    gbnf = schema_gbnf({"type": "object", "properties": {"a": {"type": "string", "maxLength": 5}}})
    char = re.search(r"^char ::= (.*)$", gbnf, re.M)
    assert char and char.group(1).startswith('[^"\\\\\\x7F\\x00-\\x1F]')
    llama_grammar.LlamaGrammar.from_string(gbnf, verbose=False)  # and llama.cpp reads it


def test_the_fill_output_is_checked_against_the_tool_s_schema():
    assert tooluse.check_calls(WEATHER, '[{"city": "Paris"}]') == ([{"city": "Paris"}], None)
    assert tooluse.check_calls(WEATHER, '{"city": "Paris"}') == ([{"city": "Paris"}], None)
    found, problems = tooluse.check_calls(WEATHER, '[{"unit": "k"}]')
    assert found and "city" in problems and "unit" in problems
    assert tooluse.check_calls(WEATHER, "[1, 2]")[1] == "not a list of argument objects"
    assert tooluse.check_calls(WEATHER, "[{")[1].startswith("not JSON")
    assert tooluse.check_calls(WEATHER, '[{"city": "A"}, {"city": "A"}]')[0] == [{"city": "A"}]  # no twice


def test_fill_asks_again_with_the_problems_and_drops_invented_items():
    # the model here is scripted: the orchestration of a retry and of the grounding filter
    asked: list[str] = []
    replies = iter(['[{"unit": "c"}]', '[{"city": "Paris"}, {"city": "Rome"}, {"city": "Oslo"}]'])

    def generate(messages, schema):
        asked.append(messages[0].content)
        return next(replies), Usage(10, 5), "stop"

    messages = [Message("user", "Weather in Paris and Rome, please.")]
    filled = tooluse.fill(generate, messages, WEATHER)
    assert filled.calls == [{"city": "Paris"}, {"city": "Rome"}] and filled.problems is None  # not Oslo
    assert filled.usage == Usage(20, 10) and "did not fit the schema" in asked[1] and "city" in asked[1]


def test_fill_leaves_out_optional_arguments_the_request_did_not_give():
    def generate(messages, schema):
        return '[{"city": "Paris", "unit": "f"}]', Usage(1, 1), "stop"

    assert tooluse.fill(generate, [Message("user", "Weather in Paris?")], WEATHER).calls == [{"city": "Paris"}]
    cut = tooluse.fill(lambda m, s: ('{"ci', Usage(1, 3), "length"), [Message("user", "Paris?")], WEATHER)
    assert cut.calls == [] and cut.cut == '{"ci'  # the token limit ended it: no second try
    # under auto a cut call counts as invented when what it wrote before the cut is not the request's
    asked = [Message("user", "Weather in Paris?")]
    assert not tooluse.unfounded(cut, asked)  # nothing written yet: it stands, unfinished
    runaway = tooluse.Filled([], Usage(1, 3), cut='{"url": "https://api.example.com/v1/aaaaaaaa')
    assert tooluse.unfounded(runaway, asked)
    half = tooluse.Filled([], Usage(1, 3), cut='{"city": "Pari')  # a small max_tokens, the value cut in half
    assert not tooluse.unfounded(half, asked)
    begun = tooluse.Filled([], Usage(1, 3), cut='{"city": "Paris", "days": 3, "note": "Paris')
    assert not tooluse.unfounded(begun, asked)
    invented = tooluse.Filled([], Usage(1, 3), cut='{"city": "Lyon", "days": 12, "note": "Paris')
    assert tooluse.unfounded(invented, asked)


def test_tools_called_since_the_request_are_not_chosen_again():
    messages = [
        Message("user", "Weather in Paris?"),
        Message(
            "assistant", "", tool_calls=[ToolCall(id="1", name="get_weather", arguments=json.dumps({"city": "Paris"}))]
        ),
        Message("tool", "18 C, sunny"),
    ]
    request, called = tooluse._current_request(messages)
    assert request == "Weather in Paris?" and called == {"get_weather"}


# An OpenAPI operation's shape (FastAPI): the ids sit in a required `body`, an optional month may be null.
BOOK = {
    "type": "function",
    "function": {
        "name": "book_trip",
        "description": "Book a dive trip",
        "parameters": {
            "type": "object",
            "properties": {
                "body": {
                    "type": "object",
                    "properties": {
                        "trip_id": {"type": "string", "description": "The id of a trip from /trips"},
                        "divers": {"type": "integer"},
                        "month": {"type": "integer", "title": "Month"},
                    },
                    "required": ["trip_id", "divers", "month"],
                }
            },
            "required": ["body"],
        },
    },
}
FIND = {
    "type": "function",
    "function": {
        "name": "find_trips",
        "description": "Find dive trips by destination and month",
        "parameters": {
            "type": "object",
            "properties": {
                "destination": {"type": "string"},
                "month": {"anyOf": [{"type": "integer"}, {"type": "null"}], "title": "Month"},
                "months": {"type": "integer", "description": "how many months ahead"},
            },
        },
    },
}


def test_reference_arguments_are_found_also_inside_required_objects():
    assert tooluse.references(BOOK["function"]["parameters"]) == [("body", "trip_id")]
    assert tooluse.references(FIND["function"]["parameters"]) == []
    user = {"type": "object", "properties": {"userId": {"type": "integer"}, "order_no": {}}, "required": ["userId"]}
    assert tooluse.references(user) == [("userId",)]  # optional ones are not needed first


def test_the_month_a_request_names():
    month = tooluse.request_month
    assert month("Book the Blue Hole trip for 2 divers in May, name Ana.") == 5
    assert month("on 3 Sept. please") == 9 and month("Mar 5") == 3
    assert month("我想五月去三亚") == 5 and month("12月出发") == 12 and month("十一月份") == 11
    assert month("May I book a trip?") is None  # the verb, not the month
    assert month("between May and June") is None  # two months: not ours to pick
    assert month("a 3个月 course, may be") is None and month("marvel at it") is None


def test_an_integer_month_parameter_takes_the_month_the_request_names():
    args = {"body": {"trip_id": "BZ-1", "divers": 2, "month": 12}}
    fixed = tooluse._with_months(args, BOOK["function"]["parameters"], "Book it for 2 in May")
    assert fixed == {"body": {"trip_id": "BZ-1", "divers": 2, "month": 5}}
    assert args["body"]["month"] == 12  # the model's output is not changed in place
    # a nullable month too; `months` (a count) is not a month
    found = tooluse._with_months({"month": 2, "months": 3}, FIND["function"]["parameters"], "五月的行程")
    assert found == {"month": 5, "months": 3}
    assert tooluse._with_months({"month": 2}, FIND["function"]["parameters"], "next trip") == {"month": 2}
    assert tooluse._with_months({}, FIND["function"]["parameters"], "a trip in May") == {"month": 5}  # left out


def test_after_tool_results_a_tool_the_request_fits_less_is_not_called():
    import numpy as np

    class Embedder:  # scripted: the request fits book_trip best, then find_trips, then look_up
        name = "scripted"

        def embed_queries(self, texts):
            return np.array([[1.0, 0.0]] * len(texts))

        def embed(self, texts, kind):
            return np.array([[{"book": 0.95, "find": 0.9, "look": 0.85}[t.split("_")[0]], 0.0] for t in texts])

    look = json.loads(json.dumps(FIND).replace("find_trips", "look_up"))
    tools = [BOOK, FIND, look]
    asked = [Message("user", "Book the Blue Hole trip")]
    first = tooluse.decide(Embedder(), asked, tools, "auto")
    assert first.calls == ["book_trip"]
    called = ToolCall(id="1", name="find_trips", arguments="{}")
    after_find = [*asked, Message("assistant", "", tool_calls=[called]), Message("tool", "[]")]
    assert tooluse.decide(Embedder(), after_find, tools, "auto").calls == ["book_trip"]  # it fits better: called
    booked = ToolCall(id="2", name="book_trip", arguments="{}")
    after_book = [*after_find, Message("assistant", "", tool_calls=[booked]), Message("tool", '{"id": "BK-1"}')]
    last = tooluse.decide(Embedder(), after_book, tools, "auto")
    assert last.calls == [] and last.reason == "the tools called serve the request"
    assert tooluse.decide(Embedder(), after_book, tools, "required").calls  # required: a call all the same


def test_an_integer_parameter_takes_the_count_the_request_puts_before_its_noun():
    args = {"body": {"trip_id": "MY-SIP-3D", "divers": 1, "month": 6}}
    fixed = tooluse._with_counts(args, BOOK["function"]["parameters"], "Book Sipadan for 3 divers in June")
    assert fixed["body"] == {"trip_id": "MY-SIP-3D", "divers": 3, "month": 6} and args["body"]["divers"] == 1
    params = {
        "type": "object",
        "properties": {
            "passengers": {"type": "integer"},
            "numAdults": {"type": "integer", "description": "Number of adults"},
            "nights": {"type": "integer", "description": "stay length"},
        },
    }
    got = tooluse._with_counts(
        {"passengers": 1, "numAdults": 3, "nights": 1}, params, "2 passengers, 2 adults, 4 nights"
    )
    assert got == {"passengers": 2, "numAdults": 2, "nights": 4}
    # two counts for one noun, or none: the model's number stays
    assert tooluse._with_counts({"passengers": 1}, params, "2 passengers or 3 passengers") == {"passengers": 1}
    # a left-out argument is added when its own name is the noun ("two tickets" -> num_tickets), not
    # when only its description is
    assert tooluse._with_counts({}, params, "for two passengers and 4 adults") == {"passengers": 2, "numAdults": 4}
    guests = {"properties": {"size": {"type": "integer", "description": "number of guests"}}}
    assert tooluse._with_counts({}, guests, "a table for 5 guests") == {}
    # a count in words counts things; it does not replace a value the model took from the request
    charges = {"properties": {"charge1": {"type": "integer", "description": "the first charge"}}}
    assert tooluse._with_counts({"charge1": 5}, charges, "two charges of 5C and 7C") == {"charge1": 5}


def test_the_name_a_user_gives_as_theirs_fills_a_person_name_parameter():
    params = {
        "type": "object",
        "properties": {
            "body": {
                "type": "object",
                "properties": {"name": {"type": "string", "description": "Name of the person booking"}},
            },
            "file_name": {"type": "string", "description": "the file"},
        },
    }
    given = {"body": {"name": "Sipadan, Malaysia"}, "file_name": "a.txt"}
    for request, name in [
        ("Book Sipadan for 3 divers in June. My name is Li Wei.", "Li Wei"),
        ("Book it, the name is Ana Silva.", "Ana Silva"),
        ("我想预订五月的大蓝洞一日游，名字是王芳。", "王芳"),
        ("我叫李伟，订三亚", "李伟"),
    ]:
        assert tooluse._with_name(given, params, request) == {"body": {"name": name}, "file_name": "a.txt"}
    # no name given as the user's (or two): the model's value stays
    assert tooluse._with_name(given, params, "Book Sipadan for Li Wei") == given
    assert tooluse._with_name(given, params, "my name is Ana Silva, name: Bo Li") == given


def test_a_chinese_name_copied_with_the_words_after_it_is_cut_to_the_name():
    request = "我想知道上海明天会下雨吗？帮我查一下北京后天的天气。我明天会来。"
    assert tooluse.zh_core("上海明天会", request) == "上海"
    assert tooluse.zh_core("帮我查一下北京", request) == "北京"
    assert tooluse.zh_core("北京后天的", request) == "北京"
    assert tooluse.zh_core("明天会来", request) == "明天会来"  # no name in it: a message stays whole
    assert tooluse.zh_core("上海", request) == "上海" and tooluse.zh_core("Shanghai", request) == "Shanghai"
    assert tooluse.zh_core("广州明天", request) == "广州明天"  # not copied from the request: left alone
    args = tooluse._from_request({"city": "上海明天会"}, {"properties": {"city": {"type": "string"}}}, request)
    assert args == {"city": "上海"}


def test_a_copied_string_takes_the_request_s_own_spelling_and_ends_where_the_copy_ends():
    request = "Sure:\n\nThe text does not define it, so I cannot answer this. Proteins of the Plasma membrane?"
    ran_on = "The text does not define it, so I cannot answer this. The text does not"
    assert tooluse.as_written(ran_on, request) == "The text does not define it, so I cannot answer this."
    assert tooluse.as_written("plasma_membrane", request) == "Plasma membrane"
    assert tooluse.as_written("Proteins of the oceans", request) == "Proteins of the oceans"  # not a copy
    assert tooluse.as_written("The text does not define it, so I cannot answer", request).endswith("answer")
    args = tooluse._from_request({"q": "plasma_membrane"}, {"properties": {"q": {"type": "string"}}}, request)
    assert args == {"q": "Plasma membrane"}
    # a stutter before a copied name
    assert tooluse.as_written("B Beijing", "What's the weather in Beijing?") == "Beijing"
    assert tooluse.as_written("San San Francisco", "Hotels in San Francisco") == "San Francisco"
    assert tooluse.as_written("B Boston", "Flights from Beijing to Boston") == "Boston"
    assert tooluse.as_written("Bay Beijing", "What's the weather in Beijing?") == "Bay Beijing"  # not a stutter


def test_a_copied_path_or_address_keeps_the_root_the_request_writes():
    request = "Analyse the scan in ~/data/scan.nii, then fetch https://example.com/a?b=1 and C:\\logs\\x.txt"
    assert tooluse.as_written("data/scan.nii", request) == "~/data/scan.nii"
    assert tooluse.as_written("example.com/a?b=1", request) == "https://example.com/a?b=1"
    assert tooluse.as_written("logs\\x.txt", request) == "C:\\logs\\x.txt"
    assert tooluse.as_written("scan.nii", request) == "scan.nii"  # a file name, not a path cut short
    assert tooluse.as_written("data", "open ~/data now") == "data"  # no path in the value: left alone
    assert tooluse.as_written("data/x.csv", "copy data/x.csv to /data/x.csv") == "data/x.csv"  # written so too


def test_a_city_takes_the_city_state_form_its_parameter_asks_for():
    asks = {"type": "string", "description": "The city and state, e.g. San Francisco, CA"}
    assert tooluse.in_place_format("Boston", asks) == "Boston, MA"
    assert tooluse.in_place_format("New York", asks) == "New York, NY"
    assert tooluse.in_place_format("Boston, Massachusetts", asks) == "Boston, MA"
    assert tooluse.in_place_format("Paris", asks) == "Paris"  # most Parises are not in Texas
    either = {"type": "string", "description": "In the format of 'City, State' or 'City, Country', e.g. 'London, UK'"}
    assert tooluse.in_place_format("Paris", either) == "Paris, France"
    assert tooluse.in_place_format("Sunnyvale", either) == "Sunnyvale, CA"
    assert (
        tooluse.in_place_format("Nowhereville", either) == "Nowhereville"
        and tooluse.in_place_format("上海", either) == "上海"
    )
    assert tooluse.in_place_format("Boston", {"type": "string", "description": "A city"}) == "Boston"
    assert tooluse.in_place_format("Xbox", {"type": "string", "description": "The platform, e.g. Xbox, PC."}) == "Xbox"
    schema = {"properties": {"location": asks}}
    assert tooluse._from_request({"location": "Boston"}, schema, "Weather in Boston?") == {"location": "Boston, MA"}


def test_several_tools_each_get_the_part_of_the_request_that_asks_for_them():
    request = "Find lawsuits against TechCorp in 2018. Also, check Hilton hotels in New York and Boston for 2 adults."
    parts = tooluse.clauses(request)
    # one row per clause, one column per tool: the first clause is like "law", the others like "hotel"
    sims = [[0.9, 0.1] if "lawsuits" in p else [0.2, 0.8] for p in parts]
    import numpy as np

    found = tooluse.request_parts(request, np.array(sims), ["law", "hotel"], ["hotel", "law"])
    assert found["law"].startswith("Find lawsuits against TechCorp in 2018.") and "Hilton" not in found["law"]
    assert found["hotel"] == "check Hilton hotels in New York and Boston for 2 adults."
    assert tooluse.most_calls(found["law"]) == 1  # the hotel part's "and" does not multiply lawsuits


def test_a_further_call_is_a_further_thing_the_part_writes_out_not_the_same_values_swapped():
    flight = {
        "type": "function",
        "function": {
            "name": "book_flight",
            "parameters": {
                "type": "object",
                "properties": {"origin": {"type": "string"}, "destination": {"type": "string"}},
                "required": ["origin", "destination"],
            },
        },
    }

    def generate(messages, schema):
        return (
            '[{"origin": "London", "destination": "New York"}, {"origin": "New York", "destination": "London"},'
            ' {"origin": "Hilton City", "destination": "London"}]',
            Usage(1, 1),
            "stop",
        )

    messages = [Message("user", "Book a flight from London to New York, and a Hilton room in New York City.")]
    filled = tooluse.fill(generate, messages, flight, part="Book a flight from London to New York")
    assert filled.calls == [{"origin": "London", "destination": "New York"}]
    # two trips, one in each sentence, are two calls: each sentence is filled on its own
    two = "Fly London to New York on Monday. Then Paris to Rome on Friday."
    by_sentence = {
        two: '{"origin": "London", "destination": "New York"}',
        "Fly London to New York on Monday.": '{"origin": "London", "destination": "New York"}',
        "Then Paris to Rome on Friday.": '{"origin": "Paris", "destination": "Rome"}',
    }
    filled = tooluse.fill(
        lambda m, s: (by_sentence[m[-1].content], Usage(1, 1), "stop"), [Message("user", two)], flight, part=two
    )
    assert filled.calls == [{"origin": "London", "destination": "New York"}, {"origin": "Paris", "destination": "Rome"}]
    assert filled.usage == Usage(3, 3)  # the whole part, then each sentence
    assert tooluse._written("San Francisco, CA", "Boston and San Francisco?")  # the place, its state added


def test_a_number_with_thousands_separators_is_taken_whole():
    schema = {"properties": {"cost": {"type": "integer"}, "sum": {"type": "number"}, "years": {"type": "integer"}}}
    request = "You bought a property for $500,000; a sum of $200,000.50 over 5 years."
    assert tooluse._from_request({"cost": 500, "sum": 200, "years": 5}, schema, request) == {
        "cost": 500000,
        "sum": 200000.5,
        "years": 5,
    }
    # a number the request also writes on its own stays
    assert tooluse._from_request({"cost": 500}, schema, "500 units at $500,000") == {"cost": 500}


def test_the_pieces_of_a_request_a_value_can_be_copied_from():
    pieces = tooluse.request_pieces("Get me two tickets for the next Eminem concert in 'New York City'.")
    assert "New York City" in pieces and "Eminem" in pieces and "Eminem concert" in pieces
    assert "the next" not in pieces and "for" not in pieces  # no piece starts or ends on a function word
    assert "2023-04-02 07:30:00" in tooluse.request_pieces("Set an alarm for 2023-04-02 07:30:00, please")
    zh = tooluse.request_pieces("帮我查一下上海明天的天气")
    assert "上海" in zh and all("，" not in p for p in zh)
    assert len(tooluse.request_pieces(" ".join(f"word{i}" for i in range(500)))) == tooluse.MAX_PIECES


CONCERT = {
    "type": "function",
    "function": {
        "name": "book_concert",
        "parameters": {
            "type": "object",
            "properties": {"artist": {"type": "string"}, "city": {"type": "string"}, "tickets": {"type": "integer"}},
            "required": ["artist", "city"],
        },
    },
}


def test_a_required_value_the_model_made_up_is_written_again_from_the_request():
    # scripted model: the first reply makes the artist up, the second picks among the request's pieces
    asked: list[dict] = []
    replies = iter(
        ['{"artist": "The Bigger White Calf", "city": "New York City", "tickets": 2}', '{"artist": "Eminem"}']
    )

    def generate(messages, schema):
        asked.append(schema)
        return next(replies), Usage(10, 5), "stop"

    request = [Message("user", "Get me two tickets for the next Eminem concert in New York City.")]
    filled = tooluse.fill(generate, request, CONCERT)
    assert filled.calls == [{"artist": "Eminem", "city": "New York City", "tickets": 2}]
    assert set(asked[1]["properties"]) == {"artist"} and "Eminem" in asked[1]["properties"]["artist"]["enum"]
    assert filled.usage == Usage(20, 10)
    assert filled.grounding == 2 / 3  # as the model first wrote it: what decides whether a call is made at all

    # mostly made up: not rewritten (the request does not ask for this tool), and the gate sees it
    replies = iter(['{"artist": "Coldplay", "city": "London"}'])
    filled = tooluse.fill(generate, [Message("user", "What is a cello?")], CONCERT)
    assert filled.calls == [{"artist": "Coldplay", "city": "London"}] and tooluse.unfounded(filled, [])

    # a tool very like the request (`sure`) is called though its values look made up, and a required
    # string it made up is written from the request's pieces; the gate lets it through
    asked.clear()
    replies = iter(['{"artist": "The artist to see.", "city": "London"}', '{"artist": "Adele"}'])
    request = [Message("user", "Find me concerts by Adele.")]
    filled = tooluse.fill(generate, request, CONCERT, sure=True)
    assert filled.calls == [{"artist": "Adele", "city": "London"}] and filled.grounding == 0.0
    assert tooluse.unfounded(filled, request) and not tooluse.unfounded(filled, request, sure=True)
    # a call the token limit cut off is judged on what it wrote, sure or not: a runaway is no call
    runaway = tooluse.Filled([], Usage(1, 3), cut='{"artist": "https://example.com/aaaaaaaaaaaa')
    assert tooluse.unfounded(runaway, request, sure=True)


def test_a_copied_value_takes_the_request_s_spelling_but_not_over_its_schema():
    schema = {
        "properties": {
            "to": {"type": "string"},
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        }
    }
    request = "Email bob@example.com the weather in Paris, in Celsius."
    given = {"to": "example.com", "city": "paris", "unit": "celsius"}
    assert tooluse._from_request(given, schema, request) == {
        "to": "bob@example.com",
        "city": "Paris",
        "unit": "celsius",
    }
    assert tooluse.as_written("CA", "in California") == "CA"  # a match inside a word is not the value
    assert tooluse.as_written("Dara Inc.", "against 'Dara Inc' in 2019") == "Dara Inc"  # not the stop after it
    assert tooluse.as_written("St. Louis", "flights to St. Louis.") == "St. Louis"
    late = "Email ana@example.com: I will be late."
    assert tooluse.as_written("I will be late. I will be late. I will be late. I will", late) == "I will be late."


def test_each_listed_item_is_one_more_call_unless_the_call_holds_the_list_already():
    gcd = {
        "type": "function",
        "function": {
            "name": "math_gcd",
            "parameters": {
                "type": "object",
                "properties": {"num1": {"type": "integer"}, "num2": {"type": "integer"}},
                "required": ["num1", "num2"],
            },
        },
    }
    asked: list[dict] = []

    def generate(messages, schema):
        asked.append(schema)
        return '{"num1": 12, "num2": 18}', Usage(1, 1), "stop"

    filled = tooluse.fill(generate, [Message("user", "Find the GCD of 12 and 18")], gcd)
    assert filled.calls == [{"num1": 12, "num2": 18}]  # 18 is this call's already: not GCD(18, 18)
    assert len(asked) == 1  # an enumeration the call holds: the model is not asked for a list

    def weather(messages, schema):
        return '{"city": "Beijing"}', Usage(1, 1), "stop"

    filled = tooluse.fill(weather, [Message("user", "Weather in Beijing, Shanghai and Guangzhou?")], WEATHER)
    assert filled.calls == [{"city": "Beijing"}, {"city": "Shanghai"}, {"city": "Guangzhou"}]


def test_where_no_list_is_found_the_model_lists_the_calls_and_each_must_be_written_out():
    asked: list[dict] = []
    replies = iter(['{"city": "Paris"}', '[{"city": "Paris"}, {"city": "the Rhine valley"}, {"city": "Oslo"}]'])

    def generate(messages, schema):
        asked.append(schema)
        return next(replies), Usage(1, 1), "stop"

    request = "Weather in Paris this morning or what about the Rhine valley"
    filled = tooluse.fill(generate, [Message("user", request)], WEATHER)
    assert asked[1]["type"] == "array"  # the second ask is for a list
    assert filled.calls == [{"city": "Paris"}, {"city": "the Rhine valley"}]  # Oslo is not in the request


def test_a_value_the_request_says_once_is_every_listed_call_s():
    # the model lists the calls; the second's unit is made up and left out, and the request's
    # "in fahrenheit" is both cities'
    replies = iter(
        [
            '{"city": "Paris", "unit": "f"}',
            '[{"city": "Paris", "unit": "f"}, {"city": "the Rhine valley", "unit": "c"}]',
        ]
    )

    def generate(messages, schema):
        return next(replies), Usage(1, 1), "stop"

    request = "Weather in fahrenheit (f) for Paris this morning or what about the Rhine valley"
    filled = tooluse.fill(generate, [Message("user", request)], WEATHER)
    assert filled.calls == [{"city": "Paris", "unit": "f"}, {"city": "the Rhine valley", "unit": "f"}]


def test_a_sentence_that_refers_back_takes_the_first_call_s_values():
    lawsuits = {
        "type": "function",
        "function": {
            "name": "lawsuit_lookup",
            "parameters": {
                "type": "object",
                "properties": {"company_name": {"type": "string"}, "year": {"type": "integer"}},
                "required": ["company_name", "year"],
            },
        },
    }
    request = "List cases against a company named 'Dara Inc' filed in 2019. Also list cases filed in 2018 against the same company."
    by_sentence = {
        request: '{"company_name": "Dara Inc", "year": 2019}',
        "List cases against a company named 'Dara Inc' filed in 2019.": '{"company_name": "Dara Inc", "year": 2019}',
        "Also list cases filed in 2018 against the same company.": '{"company_name": "company", "year": 2018}',
    }
    filled = tooluse.fill(
        lambda m, s: (by_sentence[m[-1].content], Usage(1, 1), "stop"), [Message("user", request)], lawsuits
    )
    assert filled.calls == [{"company_name": "Dara Inc", "year": 2019}, {"company_name": "Dara Inc", "year": 2018}]

    # "do the same for …": what the sentence does not restate is the first call's
    restaurants = {
        "type": "function",
        "function": {
            "name": "find_restaurants",
            "parameters": {
                "type": "object",
                "properties": {"location": {"type": "string"}, "closing_hour": {"type": "integer"}},
                "required": ["location"],
            },
        },
    }
    first = {"location": "Los Angeles, CA", "closing_hour": 22}
    again = tooluse._referring_back(
        {"location": "Seattle, WA"},
        first,
        "and then do the same for Seattle, WA",
        restaurants["function"]["parameters"],
    )
    assert again == {"location": "Seattle, WA", "closing_hour": 22}
    # a sentence that does not refer back keeps only its own values ("as well as" joins a list)
    for alone in ("Then Seattle, WA.", "Then Seattle, WA as well as Tacoma, WA."):
        assert tooluse._referring_back(
            {"location": "Seattle, WA"}, first, alone, restaurants["function"]["parameters"]
        ) == {"location": "Seattle, WA"}


def test_a_listed_place_takes_its_own_state_and_the_request_s_code_wins():
    schema = {
        "properties": {"location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"}}
    }

    def weather(messages, s):
        return '{"location": "Boston, MA"}', Usage(1, 1), "stop"

    tool = {
        "type": "function",
        "function": {"name": "get_current_weather", "parameters": {**schema, "required": ["location"]}},
    }
    filled = tooluse.fill(weather, [Message("user", "What's the weather like in Boston and San Francisco?")], tool)
    assert filled.calls == [{"location": "Boston, MA"}, {"location": "San Francisco, CA"}]  # not "San Francisco, MA"
    # the request's own "City, QR" over the model's "City, Mexico"
    request = "¿Qué tiempo hace en Cancún, QR y Tulum, QR?"
    assert tooluse._from_request({"location": "Cancún, Mexico"}, schema, request) == {"location": "Cancún, QR"}


def test_where_a_request_s_further_asks_begin():
    def asks(text: str) -> list[str]:
        return [x for x in tooluse._SENTENCES.split(text) if x]

    two = "Find the president in 1980 and 2016, and the vice president in 1975 and 2011."
    assert asks(two) == ["Find the president in 1980 and 2016", "the vice president in 1975 and 2011."]
    assert asks("Book it for Monday, and then email me the receipt") == ["Book it for Monday", "email me the receipt"]
    assert asks("北京明天的天气，然后帮我订酒店") == ["北京明天的天气", "然后帮我订酒店"]
    # a list's last item is not a further ask
    for listed in (
        "Tags 'Taj Mahal', 'India', and 'architecture'.",
        "Weather in New York, Los Angeles, and San Francisco",
    ):
        assert asks(listed) == [listed]


def test_an_option_the_request_names_is_set_where_the_model_left_it_out():
    schema = {
        "properties": {
            "text": {"type": "string"},
            "gender": {"type": "string", "enum": ["male", "female"]},
            "format": {"type": "string", "enum": ["mp3", "wav", "ogg"]},
            "speed": {"type": "string", "enum": ["slow", "normal", "fast"]},
            "private_visibility": {"type": "boolean"},
            "good_for_kids": {"type": "boolean"},
            "free_entry": {"type": "boolean"},
        }
    }
    request = "Say 'hello' in a male voice as a WAV file; keep it private, fine for kids, not free entry."
    assert tooluse._from_request({"text": "hello"}, schema, request) == {
        "text": "hello",
        "gender": "male",
        "format": "wav",
        "private_visibility": True,
        "good_for_kids": True,
        "free_entry": False,
    }
    # what the model gave stays; an option the request does not name stays out ("female" holds "male"
    # only inside a word: one whole word each)
    assert tooluse._from_request({"text": "hi", "gender": "female"}, schema, "Say 'hi' in a female voice") == {
        "text": "hi",
        "gender": "female",
    }
    # two values named: which one is meant is not known
    assert "speed" not in tooluse._from_request({"text": "a"}, schema, "not slow, not fast: say 'a'")


def test_a_date_takes_the_form_its_parameter_asks_for_when_it_has_a_year():
    iso = {"type": "string", "description": "The check-in date, in the format YYYY-MM-DD."}
    assert tooluse.in_date_format("10th December 2022", iso) == "2022-12-10"
    assert tooluse.in_date_format("May 12, 2022", {"type": "string", "format": "date"}) == "2022-05-12"
    assert tooluse.in_date_format("June 1st 2022", {"description": "Date (MM/DD/YYYY)"}) == "06/01/2022"
    assert tooluse.in_date_format("2022-12-10", iso) is None  # already in form
    assert tooluse.in_date_format("March 9th", iso) is None  # no year: not guessed
    assert tooluse.in_date_format("2022", iso) is None
    assert tooluse.in_date_format("next week", iso) is None
    assert tooluse.in_date_format("10th December 2022", {"type": "string"}) is None  # no form asked for
    hours = {"type": "string", "description": "The pickup time, in 24-hour format 'HH:MM'."}
    assert tooluse.in_date_format("7 PM", hours) == "19:00"
    assert tooluse.in_date_format("2023-05-10 15:00:00", hours) == "15:00"
    assert tooluse.in_date_format("after lunch", hours) is None
    # a form with more to it than the ones known is left to the model
    assert tooluse.in_date_format("May 1, 2022 7 PM", {"description": "ISO 8601, 'YYYY-MM-DDTHH:MM:SSZ'"}) is None
    schema = {"properties": {"day": iso, "city": {"type": "string"}}}
    assert tooluse._from_request({"day": "1st June 2022", "city": "Oslo"}, schema, "Oslo on 1st June 2022") == {
        "day": "2022-06-01",
        "city": "Oslo",
    }


def test_a_rate_in_percent_becomes_a_fraction_where_the_parameter_takes_one():
    schema = {
        "properties": {
            "rate": {"type": "number", "description": "Enter as a decimal."},
            "interest_rate": {"type": "number", "description": "The annual interest rate."},
            "annual_rate": {"type": "number", "description": "Interest rate in percentage."},
            "years": {"type": "integer"},
        }
    }
    request = "At 5% a year, or 4.5 percent, and 2.5% for 10 years"
    assert tooluse._from_request(
        {"rate": 5, "interest_rate": 4.5, "annual_rate": 2.5, "years": 10}, schema, request
    ) == {
        "rate": 0.05,
        "interest_rate": 0.045,
        "annual_rate": 2.5,
        "years": 10,
    }
    # a number the request does not write in percent stays
    assert tooluse._from_request({"rate": 5}, schema, "rate 5") == {"rate": 5}


def test_a_value_loses_the_phrase_that_holds_another_argument():
    schema = {"properties": {"hotel_name": {"type": "string"}, "location": {"type": "string"}}}
    request = "Book the Hilton Hotel in Chicago"
    args = {"hotel_name": "the Hilton Hotel in Chicago", "location": "Chicago"}
    assert tooluse._from_request(args, schema, request) == {"hotel_name": "Hilton Hotel", "location": "Chicago"}
    # a place also where its parameter's form added a state
    args = {"hotel_name": "Plaza Hotel in New York", "location": "New York, NY"}
    assert tooluse._without_others(args, schema) == {"hotel_name": "Plaza Hotel", "location": "New York, NY"}
    # a phrase of its own stays ("Bank of America" holds no other value)
    args = {"hotel_name": "Bank of America Plaza", "location": "Dallas"}
    assert tooluse._from_request(args, schema, "Bank of America Plaza in Dallas") == args


def test_a_list_of_strings_holds_the_request_s_list():
    schema = {"properties": {"location": {"type": "string"}, "items": {"type": "array", "items": {"type": "string"}}}}
    request = "Check the price of tomatoes and lettuce at the Whole Foods in Los Angeles."
    for given in (["Tomatoes", "Lemon-Chicken Salad"], ["tomatoes"], ["lettuce", "tomatoes"]):
        args = tooluse._from_request({"location": "Los Angeles", "items": given}, schema, request)
        assert args == {"location": "Los Angeles", "items": ["tomatoes", "lettuce"]}
    # a list the request does not write stays the model's
    assert tooluse._from_request({"items": ["carrots"]}, schema, request) == {"items": ["carrots"]}


def test_an_optional_value_made_up_around_another_argument_is_left_out():
    request = "Can you find me some music from 2021?"
    assert tooluse._without_invented({"album": "Songbird 2021", "year": "2021"}, {"year"}, request) == {"year": "2021"}
    # the same place written two ways is the request's, both times
    args = {"city": "New York", "location": "New York, NY"}
    assert tooluse._without_invented(args, set(), "Weather in New York, NY tomorrow") == args


def test_a_date_or_time_the_request_does_not_write_is_taken_from_the_request():
    request = "Book a table at Luigi's for 7 PM on June 1st, 2024."
    day = {"type": "string", "description": "The date, in the format YYYY-MM-DD."}
    hour = {"type": "string", "description": "The time, in 24-hour format 'HH:MM'."}
    assert tooluse.written_moments(request) == (("2024-06-01",), ("19:00",))
    assert tooluse.in_date_format("June 1st", day, request) == "2024-06-01"  # the same day, with its year
    assert tooluse.in_date_format("2024-06-10", day, request) == "2024-06-01"  # the only date
    assert tooluse.in_date_format("2024-06-10", hour, request) == "19:00"  # the only time
    # two dates: the model's, where the request writes it; else nothing better is known
    stay = "Check in on May 1, 2022 and check out on 5 May 2022"
    assert tooluse.in_date_format("May 5, 2022", day, stay) == "2022-05-05"
    assert tooluse.in_date_format("2022-05-09", day, stay) is None
    # a date or time written in another form is the request's, not made up
    assert tooluse.grounded("2024-06-01", request) and tooluse.grounded("19:00", request)
    assert tooluse.grounded("2024-06-02", request) is False


def test_a_state_takes_its_code_where_the_parameter_asks_for_one():
    code = {"type": "string", "description": "The U.S. state abbreviation, such as 'CA' for California."}
    assert tooluse.in_place_format("New York", code) == "NY"
    assert tooluse.in_place_format("Texas", {"type": "string", "description": "Two-letter state code"}) == "TX"
    # a state's name where the name is asked for; a place that is no state stays
    assert tooluse.in_place_format("New York", {"type": "string", "description": "The U.S. state."}) == "New York"
    assert tooluse.in_place_format("Gotham", code) == "Gotham"


def test_a_flag_is_set_by_a_word_only_its_own_name_has():
    schema = {
        "properties": {
            "purchase_amount": {"type": "number"},
            "tax_exempt": {"type": "boolean"},
            "apply_special_tax": {"type": "boolean"},
        }
    }
    request = "I made a purchase of $59.99. How much sales tax will it be?"
    assert tooluse._from_request({"purchase_amount": 59.99}, schema, request) == {"purchase_amount": 59.99}
    assert tooluse._from_request({"purchase_amount": 5}, schema, "$5, tax exempt")["tax_exempt"] is True


def test_an_optional_number_that_is_a_required_one_again_is_left_out():
    required = {"amount", "years"}
    request = "The interest on 1500 over 2 years"
    args = {"amount": 1500, "years": 2, "compound_freq": 2}
    assert tooluse._without_invented(args, required, request) == {"amount": 1500, "years": 2}
    # written twice, it may be both
    assert tooluse._without_invented(args, required, "1500 over 2 years, compounded 2 times a year") == args


def test_a_unit_left_out_is_the_one_the_request_writes_by_the_call_s_own_values():
    def schema(unit: dict) -> dict:
        return {
            "properties": {
                "location": {"type": "string"},
                "radius": {"type": "number"},
                "days": {"type": "integer"},
                "unit": {"type": "string", **unit},
            }
        }

    length = schema({"description": "The units in which the radius is measured (defaults to meters)."})
    assert tooluse._with_units({"radius": 5.6}, length, "A circle with a radius of 5.6 feet: its area?") == {
        "radius": 5.6,
        "unit": "feet",
    }
    circles = "The first circle has a radius of 5m, the second a radius of 10m; the output in meters."
    assert tooluse._with_units({"radius": 10}, length, circles)["unit"] == "m"  # right after its number
    # each call the unit written after its own place; the number both share ("7 days") says nothing
    temperature = schema({"description": "The temperature unit ('Celsius' or 'Fahrenheit')."})
    both = "The average temperature in New York for the past 7 days in Fahrenheit, and in Los Angeles in Celsius?"
    assert tooluse._with_units({"location": "New York", "days": 7}, temperature, both)["unit"] == "Fahrenheit"
    assert tooluse._with_units({"location": "Los Angeles", "days": 7}, temperature, both)["unit"] == "Celsius"
    # an enum takes its own name for a unit the request writes in Chinese
    enum = schema({"description": "温度单位", "enum": ["celsius", "fahrenheit"]})
    asked = "我想知道上海目前的天气状况，可以帮我查询吗？顺便使用摄氏度来显示温度。"
    assert tooluse._with_units({"location": "上海"}, enum, asked)["unit"] == "celsius"
    # no unit of the kind asked for, a letter that is not after a number, a unit the model gave: unchanged
    assert tooluse._with_units({"location": "Boston"}, temperature, "Weather in Boston within 5 m?") == {
        "location": "Boston"
    }
    assert "unit" not in tooluse._with_units({"radius": 3}, length, "A radius of 3 in room m")
    system = schema({"description": "Choose between 'imperial' and 'metric' systems. Default is 'metric'."})
    assert "unit" not in tooluse._with_units({"radius": 85}, system, "A weight of 85 kilograms")
    given = {"radius": 3, "unit": "cm"}
    assert tooluse._with_units(given, length, "A radius of 3 feet") == given


def test_a_dict_or_list_the_request_writes_out_wins_over_what_the_model_made_of_it():
    grades = {"properties": {"gradeDict": {"type": "object", "description": "Subjects and their scores"}}}
    request = "The average grade of John, who has these scores {'math':90, 'science':75, 'history':82}?"
    copied = {"gradeDict": {"type": "object", "description": "Subjects and their scores"}}  # the schema, copied
    assert tooluse._from_request(copied, grades, request) == {"gradeDict": {"math": 90, "science": 75, "history": 82}}
    samples = {"properties": {n: {"type": "array", "items": {"type": "integer"}} for n in ("a", "b")}}
    request = 'A t-test of dataset A [12, 24, 36] against dataset B {"x": 1} [15, 30, 45]'
    ran_on = {"a": [12, 24, 36, 15, 30, 45], "b": [15, 30, 45, 15, 30, 45]}
    assert tooluse._from_request(ran_on, samples, request) == {"a": [12, 24, 36], "b": [15, 30, 45]}
    # a list the request writes whole stays whole, though a shorter one starts it; a dict the model
    # filled in stays
    assert tooluse._with_literals({"a": [1, 2]}, samples, "sum [1, 2] and then [1]") == {"a": [1, 2]}
    assert tooluse._with_literals({"a": {"m": 1}}, samples, "{'m': 1} {'n': 2}") == {"a": {"m": 1}}
    assert tooluse.literals("[1, 2] {'a': [3]} [oops} {__import__('os')}") == [[1, 2], {"a": [3]}]


def test_how_often_interest_is_compounded_is_the_number_of_times_a_year_the_request_says():
    schema = {
        "properties": {
            "principal": {"type": "number"},
            "rate": {"type": "number", "description": "The annual interest rate."},
            "years": {"type": "integer"},
            "periods": {"type": "integer", "description": "The number of times interest is compounded per year."},
        }
    }
    asked = "The future value of $5000 at an annual interest rate of 5% in 3 years, compounded monthly?"
    assert (
        tooluse._from_request({"principal": 5000, "rate": 0.05, "years": 3, "periods": 3}, schema, asked)["periods"]
        == 12
    )
    assert tooluse._with_frequency({"years": 3}, schema, "本金5000元，年利率5%，按季度复利，3年后是多少？") == {
        "years": 3,
        "periods": 4,
    }
    # "annual interest rate" says nothing of compounding; two frequencies: which one is not known
    assert tooluse._with_frequency({"years": 3}, schema, "$5000 at an annual rate of 5% for 3 years") == {"years": 3}
    assert tooluse._with_frequency({"periods": 4}, schema, "compounded quarterly, paid monthly") == {"periods": 4}


def test_a_run_of_numbers_the_request_writes_is_a_list_a_model_s_list_runs_on_past():
    samples = {"properties": {n: {"type": "array", "items": {"type": "integer"}} for n in ("a", "b")}}
    asked = "Compare dataset_A with the values 12, 24, 36 and dataset_B with the values 15, 30, 45."
    ran_on = {"a": [12, 24, 36, 15, 30, 45], "b": [15, 30, 45, 15, 30, 45]}
    assert tooluse._with_literals(ran_on, samples, asked) == {"a": [12, 24, 36], "b": [15, 30, 45]}
    assert tooluse.literals("I paid $1,500 and 2,000 on 12, 13 and 14 May") == [[12, 13, 14]]
    assert tooluse.literals("at coordinates 46.603354,1.8883340 or 40.7128, -74.0060") == [
        [46.603354, 1.888334],
        [40.7128, -74.006],
    ]
    # a list of strings none of which the request writes is its one list of strings
    words = {"properties": {"elements": {"type": "array", "items": {"type": "string"}}}}
    asked = "Sort the words ['apple', 'banana', 'cherry'] in descending order"
    assert tooluse._with_literals({"elements": ["fruit1", "fruit2"]}, words, asked) == {
        "elements": ["apple", "banana", "cherry"]
    }


def test_a_value_ending_on_the_tool_s_subject_as_a_common_noun_loses_it():
    schema = {"properties": {k: {"type": "string"} for k in ("model", "topic", "hotel_name", "landmark")}}
    asked = "Find the price of a used Gibson Les Paul guitar in excellent condition in Chicago."
    assert tooluse._without_subject({"model": "Gibson Les Paul guitar"}, schema, asked, "guitar_price_find") == {
        "model": "Gibson Les Paul"
    }
    assert tooluse._without_subject(
        {"topic": "Bitcoin News"}, schema, "Get the latest news on Bitcoin", "get_news"
    ) == {"topic": "Bitcoin"}
    # the parameter is named for it; the request writes it as part of a name
    kept = {"hotel_name": "Plaza Hotel", "landmark": "Golden Gate Bridge"}
    assert tooluse._without_subject(kept, schema, "Book the Plaza hotel", "hotel_booking") == kept
    assert tooluse._without_subject(kept, schema, "About the Golden Gate Bridge", "bridge_info") == kept
    vice = {"topic": "vice president"}
    assert tooluse._without_subject(vice, schema, "Who was the vice president in 1975?", "get_president_and_vp") == vice


def test_a_parameter_that_names_no_type_is_held_to_values_and_lists_of_them():
    tool = {
        "function": {
            "name": "reverse_input",
            "parameters": {
                "type": "object",
                "properties": {
                    "input_value": {"description": "A string, boolean or number."},
                    "n": {"type": "integer"},
                },
                "required": ["input_value"],
            },
        }
    }
    prop = tooluse.calls_schema(tool, 1)["properties"]["input_value"]
    kinds = [b["type"] for b in prop["anyOf"]]
    assert kinds == ["string", "number", "boolean", "array"]  # not an object: the model wrote schemas into it
    assert prop["description"] == "A string, boolean or number."
    assert tooluse.calls_schema(tool, 1)["properties"]["n"] == {"type": "integer"}
    from fmstack.models.local import grammar_for

    assert grammar_for({"type": "json_schema", "json_schema": {"schema": tooluse.calls_schema(tool, 1)}}) is not None


def test_a_currency_the_model_wrote_by_name_takes_its_code_and_from_and_to_follow_the_request():
    schema = {
        "type": "object",
        "properties": {
            "amount": {"type": "number"},
            "from_currency": {"type": "string", "description": "The currency to convert from."},
            "to_currency": {"type": "string", "description": "The currency to convert to."},
        },
    }
    swapped = {"amount": 200, "from_currency": "US dollars", "to_currency": "euros"}
    assert tooluse._from_request(swapped, schema, "Convert 200 euros to US dollars.") == {
        "amount": 200,
        "from_currency": "EUR",
        "to_currency": "USD",
    }
    zh = {"amount": 100, "from_currency": "人民币", "to_currency": "美元"}
    assert tooluse._from_request(zh, schema, "把100美元换成人民币") == {
        "amount": 100,
        "from_currency": "USD",
        "to_currency": "CNY",
    }
    # the two currencies the request writes fill the pair, the one with the amount converted from
    same = {"amount": 200, "from_currency": "USD", "to_currency": "USD"}
    assert tooluse._from_request(same, schema, "Convert 200 euros to US dollars.")["from_currency"] == "EUR"
    garbled = {"amount": 100, "from_currency": "USD", "to_currency": "100"}
    assert tooluse._from_request(garbled, schema, "把100美元换成人民币")["to_currency"] == "CNY"
    asked = {"amount": 50, "from_currency": "USD", "to_currency": "GBP"}
    got = tooluse._from_request(asked, schema, "How many dollars is 50 British pounds?")
    assert (got["from_currency"], got["to_currency"]) == ("GBP", "USD")
    got = tooluse._from_request({"amount": 200}, schema, "$200 in euros please")
    assert (got["from_currency"], got["to_currency"]) == ("USD", "EUR")
    # a code the request names counts as the request's; a quantity in another unit too
    assert tooluse.grounded("EUR", "Convert 200 euros") and tooluse.grounded("CNY", "换成人民币")
    assert tooluse.grounded("USD", "I have 5 dollars") is False  # which dollars is not said
    assert tooluse.grounded(300, "a timer for 5 minutes") and tooluse.grounded(70, "5ft 10in")
    assert tooluse.grounded(17, "a timer for 5 minutes") is False
    # any currency in use today, by its English or Chinese name or its symbol (CLDR's, through Babel)
    for request, pair in [
        ("Convert 250 Swiss francs to Turkish lira", ("CHF", "TRY")),
        ("What is HK$500 in euros?", ("HKD", "EUR")),
        ("How many zloty do I get for 80 Norwegian kroner?", ("NOK", "PLN")),
        ("把200港币换成新台币", ("HKD", "TWD")),
        ("₹1,000 to Thai baht", ("INR", "THB")),
    ]:
        got = tooluse._from_request({"amount": 1, "from_currency": "USD", "to_currency": "USD"}, schema, request)
        assert (got["from_currency"], got["to_currency"]) == pair, request
    assert tooluse.grounded("PLN", "100 zloty") and tooluse.grounded("TRY", "200 土耳其里拉")
    assert tooluse.grounded("BRL", "the real reason") is not True  # an everyday word names no currency
    # the request does not say which is which: the model's order stands
    said = {"amount": 1, "from_currency": "JPY", "to_currency": "GBP"}
    assert tooluse._from_request(said, schema, "How many yen is a pound worth?") == said
    # a description that shows names keeps the name
    named = {
        **schema,
        "properties": {**schema["properties"], "to_currency": {"type": "string", "description": "e.g. 'euro'"}},
    }
    assert tooluse._from_request({"to_currency": "euro"}, named, "in euro")["to_currency"] == "euro"
    flights = {
        "type": "object",
        "properties": {"departure_location": {"type": "string"}, "destination_location": {"type": "string"}},
    }
    wrong = {"departure_location": "London", "destination_location": "New York"}
    assert tooluse._from_request(wrong, flights, "Book a flight from New York to London") == {
        "departure_location": "New York",
        "destination_location": "London",
    }
    right = {"departure_location": "London", "destination_location": "New York"}
    assert tooluse._from_request(right, flights, "I am in London and want to fly to New York") == right


def test_a_number_takes_the_unit_its_parameter_asks_for():
    def schema(**props: dict) -> dict:
        return {"type": "object", "properties": props}

    seconds = schema(track_length={"type": "integer", "description": "Length of the mix track in seconds."})
    assert tooluse._from_request({"track_length": 3}, seconds, "a track of 3 minutes") == {"track_length": 180}
    assert tooluse._from_request({"track_length": 90}, seconds, "1 hour 30 minutes of music")["track_length"] == 5400
    inches = schema(
        weight={"type": "integer", "description": "Weight in pounds."},
        height={"type": "integer", "description": "Height of the person in inches."},
    )
    got = tooluse._from_request({"weight": 150, "height": 5}, inches, "weight 150lbs and height 5ft 10in")
    assert got == {"weight": 150, "height": 70}
    hours = schema(duration={"type": "integer", "description": "Duration in hours for the forecast."})
    assert tooluse._from_request({"duration": 3}, hours, "the weather in the next 3 days") == {"duration": 72}
    assert tooluse._from_request({"duration": 3}, hours, "未来3天的天气") == {"duration": 72}
    # a rate is not its unit; two quantities of the kind, or two parameters asking for it, change nothing
    rate = schema(velocity={"type": "number", "description": "The velocity in meters per second."})
    assert tooluse._from_request({"velocity": 50}, rate, "at 50 m/s, 2 km away") == {"velocity": 50}
    assert tooluse._from_request({"duration": 5}, hours, "3 days, then 2 days more") == {"duration": 5}
    assert tooluse._from_request({"duration": 3}, hours, "see you at 3 in the lobby, 2 days") == {"duration": 48}
    zh = schema(wait={"type": "integer", "description": "等待时间，以秒为单位"})
    assert tooluse._from_request({"wait": 2}, zh, "最多等2分钟") == {"wait": 120}
    named = schema(timeout_ms={"type": "integer"}, price_min={"type": "number"})
    assert tooluse._from_request({"timeout_ms": 2, "price_min": 5}, named, "give up after 2 s, 5 dollars") == {
        "timeout_ms": 2000,
        "price_min": 5,
    }
    level = schema(sea_level={"type": "integer", "description": "The sea level in meters."})
    assert tooluse._from_request({"sea_level": 0}, level, "at 0 meters and 1000 meters") == {"sea_level": 0}
    two = schema(
        length={"type": "number", "description": "Length in feet."},
        height={"type": "number", "description": "Height in feet."},
    )
    assert tooluse._from_request({"length": 4, "height": 4}, two, "a wall 4 meters long") == {"length": 4, "height": 4}
    # half a minute is no whole number of minutes: an integer parameter keeps the model's number
    minutes = schema(wait={"type": "integer", "description": "Time to wait in minutes."})
    assert tooluse._from_request({"wait": 30}, minutes, "wait 30 seconds") == {"wait": 30}


def test_a_further_call_needs_every_required_value_from_the_conversation():
    text = "Analyze my fMRI data in ~/data/myfMRI.nii from a multi-band sequence, smoothed at 6mm."
    first = {"data_source": "~/data/myfMRI.nii", "sequence_type": "multi-band", "smooth": 6}
    runaway = ("https://data.myfMRI.nii.io" + "/data" * 30)[: tooluse.MAX_STRING]
    other = {"data_source": runaway, "sequence_type": "sequence", "smooth": 6}
    required = {"data_source", "sequence_type", "smooth"}
    assert not tooluse._another_item(other, [first], required, text, text, replacing=True)
    again = "Analyze ~/data/a.nii and ~/data/b.nii from a single-band sequence, smoothed at 6mm."
    one = {"data_source": "~/data/a.nii", "sequence_type": "single-band", "smooth": 6}
    two = {"data_source": "~/data/b.nii", "sequence_type": "single-band", "smooth": 6}
    assert tooluse._another_item(two, [one], required, again, again)
    two["sequence_type"] = "spiral"  # not in this request
    assert not tooluse._another_item(two, [one], required, again, again)


def test_a_list_the_model_filled_with_what_the_request_does_not_write_is_the_request_s_own_items():
    order = {
        "type": "object",
        "properties": {
            "restaurant": {"type": "string"},
            "items": {"type": "array", "items": {"type": "string"}},
            "quantities": {"type": "array", "items": {"type": "integer"}},
        },
    }
    asked = "I want to order five 'burgers' and six 'chicken wings' from uber pitada"
    looped = {"restaurant": "uber pitada", "items": ["restaurant", "items", "items"], "quantities": list(range(1, 17))}
    assert tooluse._with_request_lists(looped, order, asked) == {
        "restaurant": "uber pitada",
        "items": ["burgers", "chicken wings"],
        "quantities": [5, 6],
    }
    place = {"type": "object", "properties": {"coordinates": {"type": "array", "items": {"type": "number"}}}}
    asked = "The temperature in Berkeley at latitude 37.8715 and longitude -122.2730 on 2024-05-03 at 10:30?"
    assert tooluse._with_request_lists({"coordinates": [12.273, 12.273]}, place, asked) == {
        "coordinates": [37.8715, -122.273]  # not the date's or the time's digits
    }
    # a list mostly written in the request is the model's to keep (other rules mend it)
    assert tooluse._with_request_lists({"coordinates": [37.8715, 1.0]}, place, asked) == {"coordinates": [37.8715, 1.0]}
    # nothing of its type in the request: the model's list stays
    assert tooluse._with_request_lists({"items": ["a", "b"]}, order, "order lunch") == {"items": ["a", "b"]}
    # a number another argument holds is not the list's
    pair = {
        "type": "object",
        "properties": {"n": {"type": "integer"}, "values": {"type": "array", "items": {"type": "integer"}}},
    }
    assert tooluse._with_request_lists({"n": 3, "values": [7, 8]}, pair, "the 3 largest of 10 and 20") == {
        "n": 3,
        "values": [10, 20],
    }
    assert tooluse.numbers_in_order("买10个汉堡，五十杯可乐 at 3pm, twice, then Six") == [10, 50, 6]
    assert tooluse.numbers_in_order("at 46.6,1.88 on December 13, 2019 and March 9th, 10:30 or 5/6") == [46.6, 1.88]


def test_fill_mends_a_made_up_list_but_its_call_is_still_judged_on_what_the_model_wrote():
    # scripted model: a list of its parameter's own names, and a count 1, 2, 3 …
    order = {
        "type": "function",
        "function": {
            "name": "order_food",
            "parameters": {
                "type": "object",
                "properties": {
                    "restaurant": {"type": "string"},
                    "items": {"type": "array", "items": {"type": "string"}},
                    "quantities": {"type": "array", "items": {"type": "integer"}},
                },
                "required": ["restaurant", "items", "quantities"],
            },
        },
    }
    reply = '[{"restaurant": "uber pitada", "items": ["restaurant", "items"], "quantities": [1, 2, 3, 4]}]'
    asked = [Message("user", "I want to order five 'burgers' and six 'chicken wings' from uber pitada")]
    filled = tooluse.fill(lambda m, s: (reply, Usage(1, 1), "stop"), asked, order)
    assert filled.calls == [{"restaurant": "uber pitada", "items": ["burgers", "chicken wings"], "quantities": [5, 6]}]
    assert filled.grounding is not None and filled.grounding < tooluse.GROUNDING_FLOOR
    assert tooluse.unfounded(filled, asked)  # under auto: the model made most of it up, so no call


def test_a_value_copied_from_its_description_is_written_again_from_the_request():
    lawsuits = {
        "type": "function",
        "function": {
            "name": "lawsuit_search",
            "parameters": {
                "type": "object",
                "properties": {
                    "entity": {"type": "string", "description": "The entity involved in lawsuits."},
                    "court": {"type": "string", "description": "The court, for example 'https://courts.example/x'."},
                    "state": {"type": "string", "description": "The state, e.g. New York, NY."},
                },
                "required": ["entity"],
            },
        },
    }
    props = lawsuits["function"]["parameters"]["properties"]
    # (its words are mostly the request's: by its words alone the copy would pass as the request's)
    request = "Any lawsuits involving the previous owner, Mr. John Doe, in New York?"
    assert tooluse.grounded("The entity involved in lawsuits.", request)
    assert tooluse.from_description("The entity involved in lawsuits.", props["entity"], request)
    assert tooluse.from_description("https://courts.example/x", props["court"], request)  # its example address
    # a name or place the description shows is a value; so is what the request itself writes
    assert not tooluse.from_description("New York, NY", props["state"], request)
    assert not tooluse.from_description("lawsuits", props["entity"], request)
    replies = iter(
        [
            '{"entity": "The entity involved in lawsuits.", "court": "https://courts.example/x"}',
            '{"entity": "John Doe"}',
        ]
    )
    asked: list[dict] = []

    def generate(messages, schema):
        asked.append(schema)
        return next(replies), Usage(10, 5), "stop"

    filled = tooluse.fill(generate, [Message("user", request)], lawsuits, single=True)
    # the required copy is asked for again among the request's pieces; the optional one is left out
    assert filled.calls == [{"entity": "John Doe"}]
    assert "John Doe" in asked[1]["properties"]["entity"]["enum"]


def test_a_value_written_again_from_the_request_takes_the_form_its_parameter_asks_for():
    tax = {
        "type": "function",
        "function": {
            "name": "calculate_tax",
            "parameters": {
                "type": "object",
                "properties": {
                    "amount": {"type": "number"},
                    "state": {"type": "string", "description": "The U.S. state abbreviation, such as 'CA'."},
                },
                "required": ["amount", "state"],
            },
        },
    }
    request = [Message("user", "I spent $250 in New York. What is the tax?")]

    def fill(*answers: str) -> list[dict]:
        replies = iter(answers)  # (more questions than answers: StopIteration)
        return tooluse.fill(lambda m, s: (next(replies), Usage(1, 1), "stop"), request, tax, single=True).calls

    # "CA" is made up (the request names New York): written again as "New York", which the parameter
    # wants as its code; a code of the state the request names is the request's: nothing to ask again
    assert fill('{"amount": 250, "state": "CA"}', '{"state": "New York"}') == [{"amount": 250, "state": "NY"}]
    assert fill('{"amount": 250, "state": "NY"}') == [{"amount": 250, "state": "NY"}]


def test_a_language_the_request_names_picks_its_tag_among_the_options():
    schema = {
        "properties": {"text": {"type": "string"}, "language": {"type": "string", "enum": ["en-US", "es-ES", "zh-CN"]}}
    }
    assert tooluse._from_request({"text": "我爱学习"}, schema, "Say '我爱学习' in Chinese")["language"] == "zh-CN"
    assert tooluse._from_request({"text": "hola"}, schema, "用西班牙语说'hola'")["language"] == "es-ES"
    assert tooluse._from_request({"text": "hi"}, schema, "用英文说 hi")["language"] == "en-US"
    assert "language" not in tooluse._from_request({"text": "hi"}, schema, "Say hi")  # none named
    # two tags of one language: which one is meant is not known
    both = {"properties": {"language": {"type": "string", "enum": ["en-US", "en-GB"]}}}
    assert "language" not in tooluse._from_request({}, both, "in English")
    assert tooluse.language_names("mp3") == () and tooluse.language_names("zh-CN") == ("Chinese", "中文")


def test_an_end_date_the_request_gives_as_a_length_from_the_start():
    iso = {"type": "string", "description": "Use format 'YYYY-MM-DD'."}
    schema = {"properties": {"start_date": iso, "end_date": iso}}
    same = {"start_date": "2022-06-01", "end_date": "2022-06-01"}
    request = "Book the Plaza Hotel for 3 nights starting from 1st June 2022"
    assert tooluse._from_request(same, schema, request)["end_date"] == "2022-06-04"
    assert tooluse._from_request(same, schema, "two weeks from June 1st, 2022")["end_date"] == "2022-06-15"
    assert tooluse._from_request(same, schema, "帮我订2022年6月1日入住的酒店，住三晚")["end_date"] == "2022-06-04"
    assert (
        tooluse._from_request({"start_date": "2022-06-01"}, schema, "2022-06-01入住，住3晚")["end_date"] == "2022-06-04"
    )
    # an end the request writes, or two lengths: left as they are
    written = {"start_date": "2022-06-01", "end_date": "2022-06-05"}
    assert tooluse._from_request(written, schema, "from 2022-06-01 to 2022-06-05, 4 nights") == written
    assert tooluse._from_request(same, schema, "on 2022-06-01, 3 nights or 4 nights")["end_date"] == "2022-06-01"


def test_a_date_that_touches_chinese_characters_or_is_written_in_chinese_is_found():
    assert tooluse.written_moments("帮我订2022-06-01入住的酒店") == (("2022-06-01",), ())
    assert tooluse.written_moments("2024年6月1日的航班") == (("2024-06-01",), ())
    assert tooluse.grounded("2024-06-01", "查一下2024年6月1日的航班")
    assert tooluse.written_moments("build 12024-06-01x") == ((), ())  # digits of something else


def test_a_code_the_description_defines_is_taken_for_what_the_request_names():
    service = {
        "type": "integer",
        "description": "For example, 1 represents cleaning service, 2 represents ironing service, "
        "3 represents big cleaning service.",
    }
    province = {"type": "integer", "description": "For example, 1 for Bangkok, 2 for Chiang Mai, 3 for Chonburi."}
    request = "Find a housekeeper who provides ironing services in Chonburi Province, rated 4.5 or more."
    assert tooluse.listed_code(service, request) == 2 and tooluse.listed_code(province, request) == 3
    assert tooluse.listed_code(service, "a big cleaning in Bangkok") == 3  # the label with more of its words
    assert tooluse.listed_code(service, "any service") is None  # "service": every label's word
    assert tooluse.listed_code({"type": "integer", "description": "Rooms, 1 to 5."}, "two rooms") is None
    schema = {"properties": {"service_id": service, "province_id": province}, "required": ["service_id"]}
    assert tooluse._from_request({"service_id": 1234567890}, schema, request) == {"service_id": 2, "province_id": 3}


def test_a_number_the_request_labels_with_a_parameter_s_words_wins():
    schema = {
        "type": "object",
        "properties": {
            "data_source": {"type": "string"},
            "smooth": {"type": "integer"},
            "voxel_size": {"type": "integer"},
            "num_rooms": {"type": "integer"},
            "purchase_price": {"type": "number"},
            "sale_price": {"type": "number"},
            "rating": {"type": "number"},
            "value": {"type": "integer"},
        },
    }
    labelled = tooluse._with_labelled_numbers
    fmri = "Analyze ~/data/scan.nii, smoothed at 6mm with an isotropic voxel size of 2mm."
    # the model took the voxel size for the smoothing and left the voxel size out
    assert labelled({"data_source": "~/data/scan.nii", "smooth": 2}, schema, fmri) == {
        "data_source": "~/data/scan.nii",
        "smooth": 6,
        "voxel_size": 2,
    }
    # the label with more of the parameter's words wins ("sale price" for sale_price), after "$"
    sold = "The purchase price was $150 and the sale price is $180."
    assert labelled({"purchase_price": 180, "sale_price": 150}, schema, sold) == {
        "purchase_price": 150,
        "sale_price": 180,
    }
    assert labelled({"rating": 4}, schema, "Restaurants with a rating of 4.5 or more") == {"rating": 4.5}
    # not labelled: a function word before the number ("a room for 2 adults"), a vague name
    # ("value" for "at x = 1"), a date's digits, a number two parameters' words label alike
    assert labelled({"num_rooms": 1}, schema, "Book a room for 2 adults") == {"num_rooms": 1}
    assert labelled({"value": 2}, schema, "The derivative of 2x^2 at x = 1") == {"value": 2}
    assert labelled({"rating": 4}, schema, "a rating on 2024-05-06 of the hotel") == {"rating": 4}
    both = "price 20"
    assert labelled({"purchase_price": 1, "sale_price": 2}, schema, both) == {"purchase_price": 1, "sale_price": 2}
    # a number the request writes that no other parameter's words label stays: each call its own
    both_years = {"properties": {"year": {"type": "integer"}}}
    filed = "Cases filed in 2019, also cases filed in the year 2018."
    assert labelled({"year": 2019}, both_years, filed) == {"year": 2019}
    assert labelled({"year": 2017}, both_years, filed) == {"year": 2018}  # not written: the labelled one
    # an integer parameter does not take a fraction; the model's value stands where it is labelled
    assert labelled({"smooth": 3}, schema, "smoothed at 6.5 mm") == {"smooth": 3}
    assert labelled({"smooth": 6}, schema, fmri)["smooth"] == 6


def test_the_trained_head_reads_its_own_embedding_model_and_otherwise_the_similarity_decides(monkeypatch):
    import numpy as np

    query, tools = np.array([0.6, 0.8]), np.array([[0.6, 0.8], [1.0, 0.0]])
    features = tooluse.decider_features(query, tools)
    # cosine, element-wise product, absolute difference, the request itself
    assert np.allclose(features[1], [0.6, 0.6, 0.0, 0.4, 0.8, 0.6, 0.8])
    head = tooluse.Decider(np.arange(7, dtype=np.float32) / 10, -0.5, 0.6, "scripted")
    assert np.allclose(head.probabilities(query, tools), 1 / (1 + np.exp(-(features @ head.weights - 0.5))))

    class Embedder:  # the request is most like send_email (0.95), then add (0.7)
        def __init__(self, name):
            self.name = name

        def embed_queries(self, texts):
            return np.array([[1.0, 0.0]] * len(texts))

        def embed(self, texts, kind):
            return np.array([[0.95, 0.31] if t.startswith("send") else [0.7, 0.71] for t in texts])

    add = {"type": "function", "function": {"name": "add", "description": "Add two integers."}}
    email = {"type": "function", "function": {"name": "send_email", "description": "Send an email."}}
    asked = [Message("user", "Mail Bob")]
    # a head that favours the vectors' second half: add scores higher, but not up to its threshold
    leaning = tooluse.Decider(np.array([0, 0, 5, 0, 5, 0, 0], dtype=np.float32), -2.0, 0.9, "scripted")
    monkeypatch.setattr(tooluse, "shipped_decider", lambda: leaning)
    # another embedding model: the head does not apply, the similarity threshold decides
    other = tooluse.decide(Embedder("other"), asked, [add, email], "auto")
    assert other.calls == ["send_email"] and other.threshold == 0.5
    kept = tooluse.decide(Embedder("scripted"), asked, [add, email], "auto")
    assert kept.calls == [] and kept.reason == "no tool fits the request" and kept.threshold == 0.9
    assert kept.scores["add"] > kept.scores["send_email"] and kept.call_probability == kept.scores["add"]
    assert tooluse.decide(Embedder("scripted"), asked, [add, email], "required").calls == ["add"]


def test_an_enum_parameter_s_options_listed_together_are_one_call_each():
    kinds = {"type": "string", "enum": ["Music", "Theater", "Sports"]}
    request = "Find any music concerts or theater plays happening in Los Angeles on March 10th"
    assert tooluse._listed_options("Music", kinds, request) == ["Theater"]
    assert tooluse._listed_options("Theater", kinds, "music, theater and sports events") == ["Music", "Sports"]
    # options written apart, not as a list: one call
    assert tooluse._listed_options("Music", kinds, "Find music events. I never go to the theater.") == []
    assert tooluse._listed_options("Music", {"type": "string"}, request) == []  # not an enum
    calls, _ = tooluse._listed(
        {"event_type": "Music", "city": "Los Angeles"}, {"event_type", "city"}, request, {"event_type": kinds}
    )
    assert calls == [{"event_type": "Theater", "city": "Los Angeles"}]
