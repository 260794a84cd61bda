"""API keys: random secrets shown once, stored as SHA-256 digests.

A key carries 256 bits of randomness, so a fast unsalted digest is enough to make a leaked table
useless while keeping the per-request lookup to one indexed query.
"""

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.config import Settings
from shared.db import utcnow
from shared.errors import NotFound, Unauthorized
from shared.limits.schemas import Limits
from shared.limits.service import effective
from shared.models import ApiKey, Company

KEY_PREFIX = "ak_"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the company every query is scoped to, the key used, and the company's
    limits (read with the key: execute needs them, and they are cached and invalidated with it)."""

    company_id: str
    key_id: str
    limits: Limits


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def looks_like_key(raw: str) -> bool:
    return raw.startswith(KEY_PREFIX) and 20 <= len(raw) <= 100 and raw.isascii()


async def issue_key(session: AsyncSession, company_id: str) -> tuple[ApiKey, str]:
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(company_id=company_id, key_hash=hash_key(raw), prefix=raw[:10])
    session.add(key)
    await session.flush()
    return key, raw


async def authenticate(session: AsyncSession, raw: str, settings: Settings) -> Principal:
    if not looks_like_key(raw):
        raise Unauthorized()
    row = (
        await session.execute(
            select(ApiKey.id, Company)
            .join(Company, Company.id == ApiKey.company_id)
            .where(ApiKey.key_hash == hash_key(raw), ApiKey.revoked_at.is_(None))
        )
    ).one_or_none()
    if row is None:
        raise Unauthorized()
    key_id, company = row
    return Principal(company_id=company.id, key_id=key_id, limits=effective(company, settings))


async def list_keys(session: AsyncSession, company_id: str) -> list[ApiKey]:
    rows = await session.execute(
        select(ApiKey).where(ApiKey.company_id == company_id).order_by(ApiKey.created_at)
    )
    return list(rows.scalars())


async def revoke_key(session: AsyncSession, key_id: str) -> ApiKey:
    key = await session.get(ApiKey, key_id, with_for_update=True)
    if key is None:
        raise NotFound(f"No API key with id {key_id}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    await session.flush()
    return key
