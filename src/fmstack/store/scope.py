"""Workspaces, enforced in the data layer: every ORM statement on a table that belongs to a
workspace (`WorkspaceScoped`) is limited to the current workspace, and every row added to one is
stamped with it — in one place, so that a route, a service or a feature added later cannot forget.

The current workspace is a context variable: the server sets it per request from the caller's key
or console session; the SDK and the CLI work in the default workspace unless told otherwise
(`in_workspace`). Threads that carry work on (streams, jobs, parallel tool calls) copy the context.
A statement that must see every workspace (finding an API key before its workspace is known) says
so with `.execution_options(all_workspaces=True)`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import ForeignKey, String, event
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, declared_attr, mapped_column, with_loader_criteria

DEFAULT_WORKSPACE = "default"
WORKSPACE: ContextVar[str] = ContextVar("fmstack_workspace", default=DEFAULT_WORKSPACE)


def current_workspace() -> str:
    return WORKSPACE.get()


@contextmanager
def in_workspace(workspace_id: str) -> Iterator[None]:
    token = WORKSPACE.set(workspace_id)
    try:
        yield
    finally:
        WORKSPACE.reset(token)


class WorkspaceScoped:
    """A table whose rows belong to one workspace."""

    @declared_attr
    def workspace_id(cls) -> Mapped[str]:
        return mapped_column(
            String(40),
            ForeignKey("workspaces.id", ondelete="CASCADE"),
            index=True,
            default=current_workspace,
            server_default=DEFAULT_WORKSPACE,
        )


@event.listens_for(Session, "do_orm_execute")
def _only_the_current_workspace(state: ORMExecuteState) -> None:
    if state.is_column_load or state.execution_options.get("all_workspaces", False):
        return
    if state.is_select or state.is_update or state.is_delete:
        ws = WORKSPACE.get()
        state.statement = state.statement.options(
            with_loader_criteria(WorkspaceScoped, lambda cls: cls.workspace_id == ws, include_aliases=True)
        )
