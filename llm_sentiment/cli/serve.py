"""Running the service: the HTTP API with its embedded workers, and standalone worker nodes."""

from __future__ import annotations

import click

from llm_sentiment import __version__
from llm_sentiment.cli.common import exit_on_error, load_settings


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(0, 64),
    help="Embedded job worker threads (none when LLM_SENTIMENT_BROKER_URL sends jobs to `worker` nodes).",
)
@click.option("--no-preload", is_flag=True, help="Load the model on the first job instead of at start.")
def serve(host: str, port: int, workers: int, no_preload: bool) -> None:
    """Run the HTTP API (OpenAPI docs at /docs) with its job workers."""
    import uvicorn

    from llm_sentiment.service.http.app import create_app

    settings = load_settings()
    with exit_on_error():
        app = create_app(settings, workers=0 if settings.broker_url else workers, preload=not no_preload)
    mode = f"jobs via Celery on {settings.broker_url}" if settings.broker_url else f"{workers} embedded worker(s)"
    click.echo(
        f"llm-sentiment {__version__}: http://{host}:{port} ({mode}; database {_redact(settings.db_url)})", err=True
    )
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=5)


@click.command()
@click.option("--concurrency", default=1, show_default=True, type=click.IntRange(1, 64), help="Jobs run at once.")
@click.option("--metrics-port", type=click.IntRange(1, 65535), help="Serve this worker's Prometheus metrics here.")
@click.option("--metrics-host", default="127.0.0.1", show_default=True)
def worker(concurrency: int, metrics_port: int | None, metrics_host: str) -> None:
    """Run a worker node: jobs from Celery (LLM_SENTIMENT_BROKER_URL) or straight from the database."""
    import signal
    import threading

    from llm_sentiment.service.wiring import Service
    from llm_sentiment.service.worker import worker_name

    settings = load_settings()
    with exit_on_error():
        service = Service(settings)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=metrics_host, registry=service.telemetry.registry)
    if settings.broker_url:
        from llm_sentiment.service.celery_app import make_celery, run_worker

        service.start(0)
        click.echo(f"worker {worker_name()}: Celery on {_redact(settings.broker_url)}, {concurrency} at once", err=True)
        try:
            run_worker(
                make_celery(settings.broker_url, settings.job_lease_s),
                service.execute,
                concurrency,
                hostname=f"llm-sentiment@{worker_name()}",
            )
        finally:
            service.stop()
        return
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    service.start(concurrency)
    click.echo(f"worker {worker_name()}: jobs from {_redact(settings.db_url)}, {concurrency} at once", err=True)
    stopped.wait()
    service.stop()


def _redact(url: str) -> str:
    """A URL without its password."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url
