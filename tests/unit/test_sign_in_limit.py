"""Failed sign-ins are limited over the current and the previous minute: the turn of a minute does
not give a guesser a fresh allowance (the window was one calendar minute, so guesses that straddled
its end could go on)."""

from __future__ import annotations

import pytest

from fmstack.access import limits
from fmstack.errors import RateLimited
from fmstack.store import Database

pytestmark = pytest.mark.unit


def test_failed_sign_ins_straddling_a_minute_count_together(tmp_path, monkeypatch):
    db = Database(f"sqlite:///{tmp_path / 'limits.db'}")
    accounting = limits.Accounting(db, None)  # type: ignore[arg-type]
    now = {"t": 60 * 1000 + 55.0}  # five seconds before a minute turns
    monkeypatch.setattr(limits.time, "time", lambda: now["t"])
    for i in range(10):
        if i == 6:
            now["t"] += 10  # the minute turns after six failures
        accounting.sign_in_allowed("bob")
        accounting.failed_sign_in("bob")
    with pytest.raises(RateLimited):
        accounting.sign_in_allowed("bob")
    accounting.sign_in_allowed("ana")  # another name is not held back
    now["t"] += 60  # a minute later the six have left the window, four remain
    accounting.sign_in_allowed("bob")
    for _ in range(6):
        accounting.failed_sign_in("bob")
    with pytest.raises(RateLimited):
        accounting.failed_sign_in("bob")
    db.close()
