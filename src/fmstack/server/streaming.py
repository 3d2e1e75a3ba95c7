"""Bridging the SDK's blocking event iterators to the event loop.

Generation runs in its own thread; events cross to the loop through a queue. When the HTTP
client goes away the response task is cancelled, the thread is told to stop, and it closes the
iterator after the token in flight, which frees the model for the next request in line.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

_END = object()


async def iterate_in_thread(make: Callable[[], Iterator[Any]]) -> AsyncIterator[Any]:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    stop = threading.Event()

    def post(item: Any) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop is gone (server shutting down)
            stop.set()

    def work() -> None:
        it = None
        try:
            it = make()
            for item in it:
                if stop.is_set():
                    break
                post(item)
            post(_END)
        except BaseException as e:  # handed to the consumer, raised there
            post(e)
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    pass

    # the request's context (its workspace, its key's meter) goes with the work
    thread = threading.Thread(target=contextvars.copy_context().run, args=(work,), name="fmstack-stream", daemon=True)
    thread.start()
    try:
        while True:
            item = await queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


async def first_then_rest(agen: AsyncIterator[Any]) -> tuple[Any, AsyncIterator[Any]]:
    """Wait for the first item so that errors before any output become a proper HTTP status."""
    first = await agen.__anext__()

    async def rest() -> AsyncIterator[Any]:
        try:
            yield first
            async for item in agen:
                yield item
        finally:
            await agen.aclose()  # type: ignore[attr-defined]  # an async generator underneath

    return first, rest()


def sse(data: Any, event: str | None = None) -> str:
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n"


SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


async def typed_sse(events: AsyncIterator[Any], to_json: Callable[[Any], dict]) -> AsyncIterator[str]:
    """The platform API's SSE: one `event: <type>` per event, failures as an `error` event, then [DONE]."""
    from ..errors import FmstackError

    try:
        async for ev in events:
            data = to_json(ev)
            yield sse(data, event=data["type"])
    except FmstackError as e:
        yield sse({"type": "error", "message": e.message, "code": e.code}, event="error")
    except Exception as e:  # never cut the stream without saying why
        yield sse({"type": "error", "message": f"{type(e).__name__}: {e}", "code": "internal_error"}, event="error")
    yield sse("[DONE]")
