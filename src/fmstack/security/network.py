"""Outbound requests made because a caller named a URL (OpenAPI specs and their calls, MCP servers
over HTTP, model endpoints): checked against an allow/deny policy before each request, redirects
included.

By default only public addresses are reachable: loopback, private networks, link-local (where cloud
metadata services live: 169.254.169.254, fd00:ec2::254), carrier-grade NAT, multicast and reserved
ranges are refused, and so are metadata host names. `FMSTACK_OUTBOUND_ALLOW` lists what may be
reached anyway (host names, addresses, CIDR ranges; `*` for every non-link-local address) and
`FMSTACK_OUTBOUND_DENY` what may never be, whatever the allow list says.

    policy = UrlPolicy.parse(allow="127.0.0.1,10.0.0.0/8")
    policy.check("http://169.254.169.254/latest/meta-data")   # Forbidden
    with policy.client(timeout=10) as http: http.get(url)     # every request checked
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from ..errors import Forbidden, InvalidInput

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata", "instance-data"})
_METADATA_ADDRESSES = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fd00:ec2::254/128"))


def _entry(text: str) -> str | Network:
    text = text.strip().lower().strip("[]")
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return text.rstrip(".")


def _why(ip: Address) -> str | None:
    """Why an address is not public, or None when it is."""
    for attr, name in (
        ("is_loopback", "a loopback"),
        ("is_link_local", "a link-local (cloud metadata)"),
        ("is_private", "a private-network"),
        ("is_multicast", "a multicast"),
        ("is_unspecified", "an unspecified"),
        ("is_reserved", "a reserved"),
    ):
        if getattr(ip, attr):
            return name
    return None if ip.is_global else "a non-public"


@dataclass(frozen=True)
class UrlPolicy:
    allow: tuple[str | Network, ...] = ()
    deny: tuple[str | Network, ...] = ()

    @classmethod
    def parse(cls, allow: str | None = None, deny: str | None = None) -> UrlPolicy:
        split = lambda v: tuple(_entry(x) for x in (v or "").split(",") if x.strip())
        return cls(split(allow), split(deny))

    def _matches(self, entries: tuple[str | Network, ...], host: str, ips: list[Address]) -> bool:
        for e in entries:
            if isinstance(e, str):
                if e == host or (e.startswith("*.") and host.endswith(e[1:])):
                    return True
            elif any(ip.version == e.version and ip in e for ip in ips):
                return True
        return False

    def check(self, url: str, *, param: str | None = None) -> str:
        """The URL when it may be fetched; Forbidden (with what to change) when not."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as e:
            raise InvalidInput(f"{url!r} is not a valid URL: {e}", param=param) from None
        if parts.scheme not in ("http", "https"):
            raise Forbidden(f"{url}: only http and https URLs may be fetched", param=param)
        host = (parts.hostname or "").lower().rstrip(".")
        if not host:
            raise InvalidInput(f"{url!r} names no host", param=param)
        names = tuple(e for e in self.deny if isinstance(e, str))
        if self._matches(names, host, []):
            raise Forbidden(f"{url}: the host is on this server's deny list (FMSTACK_OUTBOUND_DENY)", param=param)
        if host in METADATA_HOSTS and not self._matches(self.allow, host, []):
            raise Forbidden(f"{url}: cloud metadata services may not be fetched", param=param)
        try:
            literal: Address | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            ips = [literal]
        else:
            try:
                infos = socket.getaddrinfo(
                    host, port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
                )
            except (OSError, UnicodeError, ValueError) as e:  # gaierror is an OSError
                raise InvalidInput(f"cannot resolve the host of {url}: {e}", param=param) from None
            ips = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        ips = [ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped else ip for ip in ips]
        if self._matches(self.deny, host, ips):
            raise Forbidden(f"{url}: the host is on this server's deny list (FMSTACK_OUTBOUND_DENY)", param=param)
        if self._matches(tuple(e for e in self.allow if e != "*"), host, ips):
            return url
        for ip in ips:
            why = _why(ip)
            if why is None or ("*" in self.allow and not ip.is_link_local):
                continue
            raise Forbidden(
                f"{url}: {host} is {why} address ({ip}), which this server does not fetch on a caller's behalf; "
                f"an operator can allow it with FMSTACK_OUTBOUND_ALLOW={ip}",
                param=param,
            )
        return url

    def hook(self, request: httpx.Request) -> None:
        """An httpx request hook: every request, each redirect included, is checked."""
        self.check(str(request.url))

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(event_hooks={"request": [self.hook]}, **kwargs)
