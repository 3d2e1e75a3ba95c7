"""The other items of a list a request writes a value in (models/enumerated.py): what turns one
filled call into one call per listed item."""

from __future__ import annotations

import pytest

from fmstack.models.enumerated import siblings


@pytest.mark.parametrize(
    ("value", "request_text", "others"),
    [
        ("Paris", "What's the snow like in the two cities of Paris and Bordeaux?", ["Bordeaux"]),
        ("Python", "interviewers list for Python and Java", ["Java"]),
        (
            "London",
            "Temperature in New York, Los Angeles, London and Tokyo, if you can",
            ["New York", "Los Angeles", "Tokyo"],
        ),
        (
            "Cancún, QR",
            "¿El clima en Cancún, QR, Playa del Carmen, QR y Tulum, QR?",
            ["Playa del Carmen, QR", "Tulum, QR"],
        ),
        ("Cancún", "¿El clima en Cancún, QR, Playa del Carmen, QR y Tulum, QR?", ["Playa del Carmen", "Tulum"]),
        ("water", "boiling points of water and iron at sea level", ["iron"]),
        (1980, "who was president in 1980 and 2016, and vice president in 1975", [2016]),
        (1000, "at sea levels of 0 meters and 1000 meters", [0]),
        (20, "Set timers for 20, 15 and 10 minutes", [15, 10]),
        ("北京", "北京、上海和广州的天气怎么样？", ["上海", "广州"]),
        # a state or country after a place says where it is: not a further item
        ("Austin", "Find hotels in Austin, Texas and Dallas, Texas.", ["Dallas"]),
        ("France", "Compare France, Germany and Spain.", ["Germany", "Spain"]),  # countries listed
    ],
)
def test_a_value_s_list_gives_its_other_items(value, request_text, others):
    assert siblings(value, request_text) == others


@pytest.mark.parametrize(
    ("value", "request_text"),
    [
        (2, "a room for 2 adults and 1 child"),  # another unit: another parameter
        (5, "tables for between 5 and 10 people"),  # a range
        ("Boston", "What's the weather in Boston, MA?"),  # the state code belongs to the city
        ("New York", "Fly London to New York and Paris to Rome"),  # Paris stands where London does
        ("Italian", "Find an Italian restaurant in Boston and book a table"),
        ("Oslo", "Weather in Oslo"),
        ("San Francisco", "A house in San Francisco, California, built in 1985"),
        ("Lyon", "What is the weather in Lyon, France?"),
        ("Tromsø", "Weather in Oslo and Bergen"),  # not in the request at all
    ],
)
def test_a_value_in_no_list_has_no_other_items(value, request_text):
    assert siblings(value, request_text) == []
