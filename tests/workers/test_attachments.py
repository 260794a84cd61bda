"""Fetching attachment bytes: only public addresses, the address checked is the one connected to."""

import asyncio
import base64
import socket
from collections.abc import Callable

import httpx
import pytest

from shared.config import get_settings
from workers.jobs.attachments import AttachmentError, fetch_image

PNG = b"\x89PNG fake image bytes"


def resolving_to(monkeypatch: pytest.MonkeyPatch, *addresses: str) -> list[str]:
    """Make the running loop's DNS answer `addresses`; returns the names looked up."""
    asked: list[str] = []

    async def getaddrinfo(host: str, port: int, **_: object) -> list[tuple]:  # type: ignore[type-arg]
        asked.append(host)
        family = socket.AF_INET6 if ":" in addresses[0] else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port)) for address in addresses]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    return asked


def client(
    respond: Callable[[httpx.Request], httpx.Response], seen: list[httpx.Request]
) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return respond(request)

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def image(_: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=PNG)


@pytest.mark.parametrize("scheme", ["https", "http"])
async def test_the_fetch_connects_to_the_address_it_checked(monkeypatch, scheme):
    asked = resolving_to(monkeypatch, "93.184.216.34")
    seen: list[httpx.Request] = []
    async with client(image, seen) as http:
        data = await fetch_image(http, f"{scheme}://images.example.com/a.png?v=2", get_settings())

    assert base64.b64decode(data) == PNG
    assert asked == ["images.example.com"]
    [request] = seen
    assert request.url.host == "93.184.216.34"  # never resolved a second time
    assert request.url.path == "/a.png" and request.url.query == b"v=2"
    assert request.headers["host"] == "images.example.com"
    assert request.extensions.get("sni_hostname") == (
        "images.example.com" if scheme == "https" else None
    )


async def test_an_explicit_port_is_kept_in_the_host_header(monkeypatch):
    resolving_to(monkeypatch, "93.184.216.34")
    seen: list[httpx.Request] = []
    async with client(image, seen) as http:
        await fetch_image(http, "https://images.example.com:8443/a.png", get_settings())
    assert seen[0].url.port == 8443
    assert seen[0].headers["host"] == "images.example.com:8443"


@pytest.mark.parametrize(
    "addresses",
    [
        ("127.0.0.1",),
        ("10.1.2.3",),
        ("192.168.0.10",),
        ("169.254.169.254",),
        ("100.64.0.1",),
        ("0.0.0.0",),
        ("93.184.216.34", "10.0.0.1"),
        ("::1",),
        ("::ffff:127.0.0.1",),
        ("fd00::1",),
        ("fe80::1",),
    ],
)
async def test_a_host_with_any_non_public_address_is_refused(monkeypatch, addresses):
    resolving_to(monkeypatch, *addresses)
    seen: list[httpx.Request] = []
    async with client(image, seen) as http:
        with pytest.raises(AttachmentError, match="not a public address"):
            await fetch_image(http, "https://rebinding.example.com/a.png", get_settings())
    assert seen == []


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1/a.png",
        "http://images.example.com:99999/a.png",
        "https:///a.png",
        "ftp://images.example.com/a.png",
        "images.example.com/a.png",
    ],
)
async def test_a_malformed_url_fails_cleanly(url):
    seen: list[httpx.Request] = []
    async with client(image, seen) as http:
        with pytest.raises(AttachmentError):
            await fetch_image(http, url, get_settings())
    assert seen == []


async def test_an_unresolvable_host_fails_cleanly(monkeypatch):
    async def getaddrinfo(*_: object, **__: object) -> list[tuple]:  # type: ignore[type-arg]
        raise socket.gaierror("Name or service not known")

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    async with client(image, []) as http:
        with pytest.raises(AttachmentError, match="Cannot resolve"):
            await fetch_image(http, "https://nowhere.invalid/a.png", get_settings())


async def test_redirects_are_not_followed(monkeypatch):
    resolving_to(monkeypatch, "93.184.216.34")
    seen: list[httpx.Request] = []

    def redirect(_: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/meta-data"})

    async with client(redirect, seen) as http:
        with pytest.raises(AttachmentError, match="HTTP 302"):
            await fetch_image(http, "https://images.example.com/a.png", get_settings())
    assert len(seen) == 1


async def test_an_image_over_the_size_limit_is_refused(monkeypatch):
    resolving_to(monkeypatch, "93.184.216.34")
    settings = get_settings().model_copy(update={"attachment_max_bytes": 10})
    async with client(image, []) as http:
        with pytest.raises(AttachmentError, match="larger than 10 bytes"):
            await fetch_image(http, "https://images.example.com/a.png", settings)


async def test_an_allow_listed_host_is_fetched_by_name_without_the_address_check(monkeypatch):
    asked = resolving_to(monkeypatch, "127.0.0.1")
    seen: list[httpx.Request] = []
    async with client(image, seen) as http:
        await fetch_image(http, "http://127.0.0.1:9/_emulator/image.png", get_settings())
    assert asked == []
    assert seen[0].url.host == "127.0.0.1"
