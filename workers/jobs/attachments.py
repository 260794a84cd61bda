"""Fetching attachment bytes for providers that need them, safely.

The URL comes from a client, so the fetch refuses private, loopback, link-local and other
non-global addresses (unless the host is on ATTACHMENT_ALLOWED_HOSTS, for development), follows no
redirects, stops at a size limit and gives up after a timeout. It connects to the very address it
checked (keeping the host name for the Host header and TLS), so a DNS answer that changes between
the check and the connection (DNS rebinding) cannot lead it to an internal address.
"""

import asyncio
import base64
import ipaddress
import socket
from typing import Any

import httpx

from shared.config import Settings
from workers.providers.base import ProviderCallError


class AttachmentError(ProviderCallError):
    def __init__(self, message: str) -> None:
        super().__init__("ATTACHMENT_FETCH_FAILED", message, retryable=False)


async def public_address(host: str, port: int) -> str:
    """The address to connect to for `host`; refuses a host with any non-global address."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise AttachmentError(f"Cannot resolve attachment host {host}") from exc
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses or any(not address.is_global for address in addresses):
        raise AttachmentError(f"Attachment host {host} is not a public address")
    return str(addresses[0])


async def _target(url: str, settings: Settings) -> tuple[httpx.URL, dict[str, str], dict[str, Any]]:
    """The url to request, and the headers and extensions that keep the original host name."""
    try:
        target = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise AttachmentError("Attachment urls must be http(s) with a host") from exc
    host = target.raw_host.decode("ascii")  # IDNA-encoded, as DNS and TLS want it
    port = target.port or (443 if target.scheme == "https" else 80)
    if target.scheme not in ("http", "https") or not host or not 0 < port < 65536:
        raise AttachmentError("Attachment urls must be http(s) with a host")
    if target.host in settings.attachment_allowed_hosts:
        return target, {}, {}
    address = await public_address(host, port)
    extensions = {"sni_hostname": host} if target.scheme == "https" else {}
    return target.copy_with(host=address), {"Host": target.netloc.decode("ascii")}, extensions


async def fetch_image(client: httpx.AsyncClient, url: str, settings: Settings) -> str:
    """The image's bytes, base64-encoded."""
    target, headers, extensions = await _target(url, settings)
    limit = settings.attachment_max_bytes
    try:
        async with client.stream(
            "GET",
            target,
            headers=headers,
            extensions=extensions,
            timeout=settings.attachment_fetch_timeout_seconds,
            follow_redirects=False,
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
