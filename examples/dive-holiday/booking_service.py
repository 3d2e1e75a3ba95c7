"""A small dive-trip booking service for the example: trips, prices, bookings. FastAPI writes its
OpenAPI document at /openapi.json, which is all the agent needs to use it.

    python examples/dive-holiday/booking_service.py --port 9100
"""

from __future__ import annotations

import argparse
import itertools

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

TRIPS = [
    {
        "id": "EG-LOB-05",
        "destination": "Red Sea, Egypt",
        "title": "5-night Red Sea liveaboard (Ras Mohammed, Thistlegorm)",
        "months": [3, 4, 5, 9, 10, 11],
        "price_eur": 1150,
        "level": "Advanced Open Water",
    },
    {
        "id": "EG-DAY-RM",
        "destination": "Red Sea, Egypt",
        "title": "Ras Mohammed day boat, 2 dives",
        "months": list(range(1, 13)),
        "price_eur": 95,
        "level": "Open Water",
    },
    {
        "id": "BZ-BH-DAY",
        "destination": "Belize",
        "title": "Great Blue Hole day trip, 3 dives",
        "months": [1, 2, 3, 4, 5, 6, 12],
        "price_eur": 300,
        "level": "Advanced Open Water",
    },
    {
        "id": "MY-SIP-3D",
        "destination": "Sipadan, Malaysia",
        "title": "3 days Sipadan and Mabul, 9 dives with permit",
        "months": [3, 4, 5, 6, 7, 8, 9],
        "price_eur": 620,
        "level": "Advanced Open Water",
    },
    {
        "id": "CN-SY-OW",
        "destination": "Sanya, Hainan",
        "title": "三亚蜈支洲岛开放水域课程（4天）",
        "months": list(range(3, 11)),
        "price_eur": 450,
        "level": "none",
    },
]


class BookingIn(BaseModel):
    trip_id: str = Field(description="The id of a trip from /trips")
    divers: int = Field(ge=1, le=12, description="How many divers")
    name: str = Field(min_length=1, description="Name of the person booking")
    month: int = Field(ge=1, le=12, description="Month of travel, 1-12")


def create_app() -> FastAPI:
    app = FastAPI(
        title="Dive trips", version="1.0", description="Find dive trips by destination and month, and book them."
    )
    bookings: dict[str, dict] = {}
    ids = itertools.count(1)

    @app.get("/trips", operation_id="find_trips", summary="Find dive trips, by destination and/or month of travel")
    def find_trips(destination: str | None = None, month: int | None = None) -> list[dict]:
        out = TRIPS
        if destination:
            words = destination.lower().split()
            out = [t for t in out if any(w in t["destination"].lower() or w in t["title"].lower() for w in words)]
        if month:
            out = [t for t in out if month in t["months"]]
        return out

    @app.post("/bookings", operation_id="book_trip", summary="Book a dive trip for a number of divers")
    def book(body: BookingIn) -> dict:
        trip = next((t for t in TRIPS if t["id"] == body.trip_id), None)
        if trip is None:
            raise HTTPException(404, f"no trip {body.trip_id}; use find_trips to see the ids")
        if body.month not in trip["months"]:
            raise HTTPException(409, f"{trip['id']} does not run in month {body.month}; months: {trip['months']}")
        bid = f"BK-{next(ids):04d}"
        bookings[bid] = {
            "id": bid,
            **body.model_dump(),
            "total_eur": trip["price_eur"] * body.divers,
            "trip": trip["title"],
        }
        return bookings[bid]

    @app.get("/bookings/{booking_id}", operation_id="get_booking", summary="Look up a booking by its id")
    def get_booking(booking_id: str) -> dict:
        if booking_id not in bookings:
            raise HTTPException(404, "no such booking")
        return bookings[booking_id]

    return app


if __name__ == "__main__":
    import uvicorn

    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=9100)
    uvicorn.run(create_app(), host="127.0.0.1", port=ap.parse_args().port)
