"""The `fmstack` command line: thin over the SDK; readable output, or --json for scripts. One module
per command group; this one puts them together."""

from __future__ import annotations

from typing import Any

import typer

from ..errors import FmstackError
from . import chat, common, models
from .agents import agents_app
from .batch import batch_app
from .chat import conv_app
from .common import err, fm
from .evals import eval_app
from .guardrails import guard_app
from .kb import jobs_app, kb_app
from .keys import keys_app
from .models import models_app
from .prompts import prompts_app
from .teams import users_app, workspaces_app
from .tune import aliases_app, datasets_app, tune_app

app = typer.Typer(
    help="fmstack: foundation models, chat, and an OpenAI-compatible server, offline.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(kb_app, name="kb")
app.add_typer(jobs_app, name="jobs")
app.add_typer(guard_app, name="guardrails")
app.add_typer(agents_app, name="agents")
app.add_typer(prompts_app, name="prompts")
app.add_typer(eval_app, name="eval")
app.add_typer(models_app, name="models")
app.add_typer(batch_app, name="batch")
app.add_typer(conv_app, name="conversations")
app.add_typer(keys_app, name="keys")
app.add_typer(workspaces_app, name="workspaces")
app.add_typer(users_app, name="users")
app.add_typer(datasets_app, name="datasets")
app.add_typer(tune_app, name="tune")
app.add_typer(aliases_app, name="aliases")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
    insecure: bool = typer.Option(
        False, "--insecure", help="Listen on a public interface even though no API key is configured."
    ),
    workers: int = typer.Option(
        1, "--workers", min=1, help="Server processes sharing the port and the database (each loads its models)."
    ),
    jobs: bool = typer.Option(
        True, "--jobs/--no-jobs", help="Also run queued jobs here; --no-jobs leaves them to `fmstack worker`s."
    ),
):
    """Run the OpenAI-compatible and platform API server."""
    import ipaddress
    import os

    import uvicorn

    from ..observability import configure_tracing, json_logging
    from ..server.app import create_app

    try:
        local = ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = host == "localhost"
    if not local and not insecure and not fm().keys.required():
        err.print(
            f"[red]error:[/] refusing to listen on {host} with no API key: anyone on the network could use "
            "and change everything. Create a key first (`fmstack keys create NAME`) or set FMSTACK_API_KEYS; "
            "or pass --insecure to serve openly anyway.",
            highlight=False,
        )
        raise SystemExit(2)
    typer.echo(
        f"fmstack serving on http://{host}:{port}  (OpenAI base_url: http://{host}:{port}/v1, "
        f"data: {fm().settings.data_dir}{f', {workers} processes' if workers > 1 else ''}"
        f"{'' if jobs else ', jobs left to fmstack worker'})",
        err=True,
    )
    # FMSTACK_LOG_FORMAT=json: every log line (uvicorn's and fmstack's) one JSON object
    logs = json_logging(log_level) if fm().settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG
    run: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": log_level,
        "log_config": logs,
        "timeout_graceful_shutdown": 5,
    }
    if workers > 1:  # each process makes its own application from the environment
        import shutil
        import tempfile

        os.environ["FMSTACK_SERVE_JOBS"] = "1" if jobs else "0"
        # counters every process writes and any process reads for /metrics (set before they start)
        counts = tempfile.mkdtemp(prefix="fmstack-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = counts
        fm().close()
        try:
            uvicorn.run("fmstack.server.app:from_environment", factory=True, workers=workers, **run)
        finally:
            shutil.rmtree(counts, ignore_errors=True)
        return
    configure_tracing()
    uvicorn.run(create_app(fm(), run_jobs=jobs), **run)


@app.command()
def worker():
    """Run queued jobs — ingestion, evaluation, fine-tuning, batches — for the servers and clients
    sharing this database, until stopped (SIGTERM / Ctrl-C: the running job is queued again)."""
    import signal
    import threading

    from ..jobs import OWNER

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    f = fm()
    f.serve_callers()  # the jobs are callers' (queued over HTTP too)
    f.resume_unfinished()
    f.start_jobs()
    database = f.db.engine.url.render_as_string(hide_password=True)
    typer.echo(f"fmstack worker {OWNER}: running jobs queued in {database}", err=True)
    stop.wait()
    typer.echo("fmstack worker: stopping; a job still running is queued again for another process", err=True)
    f.close()


# the top-level commands, in the order `fmstack --help` lists them
for command in (chat.ask, chat.chat, models.embed, models.tokens):
    app.command()(command)


def main() -> None:
    try:
        app()
    except FmstackError as e:
        err.print(f"[red]error:[/] {e.message}", highlight=False)
        raise SystemExit(e.exit_code) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    finally:
        if common._fm is not None:
            common._fm.close()


if __name__ == "__main__":
    main()
