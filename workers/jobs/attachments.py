"""Fetching attachment bytes for providers that need them, safely.

The URL comes from a client, so the fetch refuses private, loopback, link-local and other
non-global addresses (unless the host is on ATTACHMENT_ALLOWED_HOSTS, for development), follows no
redirects, stops at a size limit and gives up after a timeout.
"""

import asyncio
import base64
import ipaddress
import socket
from urllib.parse import urlparse

import httpx

from shared.config import Settings
from workers.providers.base import ProviderCallError


class AttachmentError(ProviderCallError):
    def __init__(self, message: str) -> None:
        super().__init__("ATTACHMENT_FETCH_FAILED", message, retryable=False)


async def _check_host(host: str, port: int, settings: Settings) -> None:
    if host in settings.attachment_allowed_hosts:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise AttachmentError(f"Cannot resolve attachment host {host}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise AttachmentError(f"Attachment host {host} is not a public address")


async def fetch_image(client: httpx.AsyncClient, url: str, settings: Settings) -> str:
    """The image's bytes, base64-encoded."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise AttachmentError("Attachment urls must be http(s) with a host")
    await _check_host(
        parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80), settings
    )
    limit = settings.attachment_max_bytes
    try:
        async with client.stream(
            "GET", url, timeout=settings.attachment_fetch_timeout_seconds, follow_redirects=False
        ) as response:
            if response.status_code != 200:
                raise AttachmentError(
                    f"Fetching the attachment answered HTTP {response.status_code}"
                )
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > limit:
                    raise AttachmentError(f"Attachment is larger than {limit} bytes")
    except httpx.HTTPError as exc:
        raise AttachmentError(f"Could not fetch the attachment: {type(exc).__name__}") from exc
    return base64.b64encode(bytes(data)).decode()
