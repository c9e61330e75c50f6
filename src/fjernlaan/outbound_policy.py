"""Where the hub may post: the rules for peers' ISO 18626 endpoints (server-side request forgery).

An endpoint must be ``https`` to a public address, unless its address lies in a range of the
``iso18626_endpoint_allowlist`` setting (then plain ``http`` and private addresses are fine). Loopback,
link-local, private, multicast and reserved addresses are refused otherwise; the
``iso18626_allow_local_endpoints`` setting lifts every address rule for development and tests.

The rules are checked twice: when an endpoint is stored (:func:`check_endpoint`, on the URL alone: an IP
literal, a local name such as ``localhost``, the scheme) and when a message is sent
(:func:`resolve_endpoint`: every address the name resolves to, then the connection goes to the checked
addresses themselves, so a name that resolves differently a moment later cannot redirect it).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fjernlaan.errors import DomainError
from fjernlaan.settings import Settings

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_HTTPS_ONLY = (
    "the endpoint must use https (plain http only to ranges in FJERNLAAN_ISO18626_ENDPOINT_ALLOWLIST)"
)
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


class EndpointRefused(DomainError):
    """An endpoint the hub must not post to."""


@dataclass(frozen=True, slots=True)
class CheckedEndpoint:
    """An endpoint that passed the rules at sending time, and the addresses to connect to (in the
    resolver's order)."""

    url: str
    scheme: str
    host: str
    addresses: tuple[IpAddress, ...]


@lru_cache(maxsize=16)
def _allowlist(value: str) -> tuple[IpNetwork, ...]:
    networks = []
    for item in value.split(","):
        if item.strip():
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
    return tuple(networks)


def allowlisted(address: IpAddress, settings: Settings) -> bool:
    """Whether the address lies in a range of ``iso18626_endpoint_allowlist``."""
    plain = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    candidates = [address] if plain is None else [address, plain]
    networks = _allowlist(settings.iso18626_endpoint_allowlist)
    return any(c in n for c in candidates for n in networks if c.version == n.version)


def address_problem(address: IpAddress, scheme: str, settings: Settings) -> str | None:
    """Why the hub may not post to this address over this scheme; None when it may."""
    if settings.iso18626_allow_local_endpoints or allowlisted(address, settings):
        return None
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    target = mapped or address
    if not target.is_global or target.is_multicast:
        return (
            f"{address} is a loopback, link-local, private or reserved address; "
            "only ranges in FJERNLAAN_ISO18626_ENDPOINT_ALLOWLIST may be"
        )
    if scheme != "https":
        return (
            "the endpoint must use https (plain http only to ranges in FJERNLAAN_ISO18626_ENDPOINT_ALLOWLIST)"
        )
    return None


def _parts(url: str) -> tuple[str, str]:
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise EndpointRefused(f"not a URL: {exc}", field="iso18626_endpoint") from None
    if parts.scheme not in ("http", "https"):
        raise EndpointRefused("the endpoint must be an http(s) URL", field="iso18626_endpoint")
    if parts.username is not None or parts.password is not None:
        raise EndpointRefused("the endpoint may not carry a user name or password", field="iso18626_endpoint")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise EndpointRefused("the endpoint has no host", field="iso18626_endpoint")
    return parts.scheme, host


def _literal(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_endpoint(url: str, settings: Settings) -> None:
    """Refuse (422) an endpoint that breaks the rules on its face; names are resolved at sending."""
    scheme, host = _parts(url)
    if settings.iso18626_allow_local_endpoints:
        return
    literal = _literal(host)
    if literal is not None:
        problem = address_problem(literal, scheme, settings)
    elif host in _LOCAL_NAMES or host.endswith(".localhost"):
        problem = f"{host} is this machine; only ranges in FJERNLAAN_ISO18626_ENDPOINT_ALLOWLIST may be"
    elif scheme != "https" and not settings.iso18626_endpoint_allowlist.strip():
        problem = (
            "the endpoint must use https (plain http only to ranges in FJERNLAAN_ISO18626_ENDPOINT_ALLOWLIST)"
        )
    else:
        problem = None
    if problem:
        raise EndpointRefused(f"{url.strip()[:200]}: {problem}", field="iso18626_endpoint")


def resolve_endpoint(url: str, settings: Settings) -> CheckedEndpoint:
    """Resolve the endpoint's host and check every address it has; the first is the one to use.

    EndpointRefused when the URL or any address breaks the rules, or the name does not resolve.
    """
    scheme, host = _parts(url)
    literal = _literal(host)
    if literal is not None:
        addresses: list[IpAddress] = [literal]
    else:
        port = urlsplit(url.strip()).port or (443 if scheme == "https" else 80)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise EndpointRefused(f"{host} does not resolve: {exc}", field="iso18626_endpoint") from None
        addresses = []
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise EndpointRefused(f"{host} has no address", field="iso18626_endpoint")
    for address in addresses:
        problem = address_problem(address, scheme, settings)
        if problem:
            raise EndpointRefused(f"{host}: {problem}", field="iso18626_endpoint")
    return CheckedEndpoint(url=url.strip(), scheme=scheme, host=host, addresses=tuple(addresses))


def pinned_request(checked: CheckedEndpoint, address: IpAddress) -> tuple[str, dict[str, Any]]:
    """The URL that connects to one of the checked addresses itself, and the httpx request extensions
    that keep TLS on the endpoint's name (SNI and certificate check). Send the endpoint's ``Host``
    header with it."""
    if _literal(checked.host) is not None:
        return checked.url, {}
    parts = urlsplit(checked.url)
    host = f"[{address}]" if address.version == 6 else str(address)
    netloc = host + (f":{parts.port}" if parts.port else "")
    extensions: dict[str, Any] = {"sni_hostname": checked.host} if checked.scheme == "https" else {}
    return urlunsplit(parts._replace(netloc=netloc)), extensions
