"""Which URLs an endpoint may have: the server-side request forgery guard.

Under the `public` policy (production's default) a URL is https and every address its host
resolves to is a public one: no loopback, private, link-local (cloud metadata at
169.254.169.254 among them), shared, multicast or reserved address. `loopback` also allows
http and 127.0.0.1 / ::1 (a receiver on the same machine); `any` allows everything (tests and
the embedded default). The dispatcher checks again before every send, as a name may resolve
elsewhere later.
"""

import asyncio
import ipaddress
import socket
from typing import Literal
from urllib.parse import urlsplit

Policy = Literal["public", "loopback", "any"]
# Metadata services that are not link-local: Alibaba Cloud's and AWS's IPv6 one.
METADATA = frozenset(
    {ipaddress.ip_address("100.100.100.200"), ipaddress.ip_address("fd00:ec2::254")}
)


UrlRefusedCode = Literal["url_invalid", "url_not_https", "url_not_public", "url_unresolvable"]


class UrlRefused(Exception):
    def __init__(self, code: UrlRefusedCode, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def check_shape(url: str, policy: Policy) -> tuple[str, int]:
    """The URL's host and port, once its scheme and shape are acceptable under `policy`."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UrlRefused("url_invalid", "The URL cannot be parsed") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlRefused("url_invalid", "The URL is http(s)://host/...")
    if parts.username or parts.password:
        raise UrlRefused("url_invalid", "The URL may not carry credentials")
    if policy == "public" and parts.scheme != "https":
        raise UrlRefused("url_not_https", "Webhook URLs must use https")
    return parts.hostname, port


def address_allowed(address: str, policy: Policy) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if policy == "any":
        return True
    if policy == "loopback" and ip.is_loopback:
        return True
    return ip.is_global and not ip.is_multicast and ip not in METADATA


async def check_url(url: str, policy: Policy) -> None:
    """Raises UrlRefused unless `url` may receive webhooks under `policy`."""
    host, port = check_shape(url, policy)
    if policy == "any":
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlRefused("url_unresolvable", f"The host {host} does not resolve") from exc
    addresses = {str(info[4][0]) for info in infos}
    refused = sorted(a for a in addresses if not address_allowed(a, policy))
    if refused or not addresses:
        raise UrlRefused(
            "url_not_public",
            f"The host {host} resolves to an address webhooks may not reach "
            f"({', '.join(refused)}): loopback, private, link-local or metadata",
        )
