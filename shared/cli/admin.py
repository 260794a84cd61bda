"""`assistants-admin`: the operators' command line. Reads the same settings as the service."""

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.cache import announce_tenancy_change
from shared.auth.service import issue_key, list_keys, revoke_key
from shared.companies.service import create_company, get_company
from shared.config import get_settings
from shared.database_admin import create_database_if_missing
from shared.db import create_engine, create_sessionmaker
from shared.errors import AppError
from shared.ids import is_id
from shared.migrations.runner import upgrade
from shared.schemas import iso_utc

app = typer.Typer(
    help="Operate the Assistants API: database, companies and API keys.", no_args_is_help=True
)
company_app = typer.Typer(help="Companies (tenants).", no_args_is_help=True)
key_app = typer.Typer(help="API keys of a company.", no_args_is_help=True)
app.add_typer(company_app, name="company")
app.add_typer(key_app, name="key")

T = TypeVar("T")


def _run(work: Callable[[AsyncSession], Awaitable[T]], *, tenancy_change: bool = False) -> T:
    """Run `work` in one transaction; a tenancy change is announced to the API after the commit."""

    async def main() -> T:
        settings = get_settings()
        engine = create_engine(settings, pool_size=1)
        try:
            async with create_sessionmaker(engine)() as session, session.begin():
                result = await work(session)
        finally:
            await engine.dispose()
        if tenancy_change:
            await announce_tenancy_change(settings)
        return result

    try:
        return asyncio.run(main())
    except AppError as exc:
        typer.echo(json.dumps(exc.to_body()), err=True)
        raise typer.Exit(1) from exc


def _print(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2))


def _company_name(value: str) -> str:
    name = value.strip()
    if not 1 <= len(name) <= 200 or "\x00" in name:
        raise typer.BadParameter("must be 1 to 200 characters of text")
    return name


def _id(value: str) -> str:
    if not is_id(value):
        raise typer.BadParameter(f"{value!r} is not an id (24 lowercase hex characters)")
    return value


CompanyName = Annotated[str, typer.Argument(callback=_company_name)]
CompanyId = Annotated[str, typer.Argument(callback=_id)]
KeyId = Annotated[str, typer.Argument(callback=_id)]


@app.command()
def migrate(
    create_database: bool = typer.Option(True, help="Create the database if it is missing."),
) -> None:
    """Bring the database schema to the latest migration."""
    settings = get_settings()
    if create_database and asyncio.run(create_database_if_missing(settings.database_url)):
        typer.echo("created the database", err=True)
    upgrade(settings.database_url)
    typer.echo("database is at the latest migration", err=True)


@company_app.command("create")
def company_create(name: CompanyName) -> None:
    """Create a company and print its id and first API key (shown once)."""

    async def work(session: AsyncSession) -> dict[str, str]:
        company, raw = await create_company(session, name)
        return {"companyId": company.id, "apiKey": raw}

    _print(_run(work))


@key_app.command("create")
def key_create(company_id: CompanyId) -> None:
    """Issue another API key for a company (shown once)."""

    async def work(session: AsyncSession) -> dict[str, str]:
        await get_company(session, company_id)
        key, raw = await issue_key(session, company_id)
        return {"keyId": key.id, "companyId": company_id, "apiKey": raw}

    _print(_run(work))


@key_app.command("list")
def key_list(company_id: CompanyId) -> None:
    """List a company's keys (prefix and state only; secrets are never stored)."""

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        await get_company(session, company_id)
        return [
            {
                "keyId": k.id,
                "prefix": k.prefix,
                "createdAt": iso_utc(k.created_at),
                "revokedAt": iso_utc(k.revoked_at) if k.revoked_at else None,
            }
            for k in await list_keys(session, company_id)
        ]

    _print(_run(work))


@key_app.command("revoke")
def key_revoke(key_id: KeyId) -> None:
    """Revoke a key; requests with it get 401 from now on."""

    async def work(session: AsyncSession) -> dict[str, Any]:
        key = await revoke_key(session, key_id)
        return {"keyId": key.id, "revokedAt": iso_utc(key.revoked_at) if key.revoked_at else None}

    _print(_run(work, tenancy_change=True))


@company_app.command("limits")
def company_limits(
    company_id: str,
    rpm: int | None = typer.Option(
        None, "--rpm", min=0, help="Requests per minute (0: the plan's)."
    ),
    tpm: int | None = typer.Option(None, "--tpm", min=0, help="Tokens per minute (0: the plan's)."),
    concurrency: int | None = typer.Option(None, "--concurrency", min=0, help="Concurrent jobs."),
    max_queued: int | None = typer.Option(None, "--max-queued", min=0, help="Jobs that may wait."),
) -> None:
    """Show a company's limits, overriding the plan's defaults with the values given."""
    from shared.companies.limits import set_limits
    from shared.limits.service import effective

    async def work(session: AsyncSession) -> dict[str, Any]:
        company = await set_limits(
            session, company_id, rpm=rpm, tpm=tpm, concurrency=concurrency, max_queued=max_queued
        )
        limits = effective(company, get_settings())
        return {
            "companyId": company.id,
            "rpm": limits.rpm,
            "tpm": limits.tpm,
            "concurrency": limits.concurrency,
            "maxQueued": limits.max_queued,
        }

    _print(_run(work, tenancy_change=True))
