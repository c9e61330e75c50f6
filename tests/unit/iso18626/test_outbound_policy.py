"""Where the hub may post (server-side request forgery): the rules for peers' ISO 18626 endpoints."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from fjernlaan.outbound_policy import (
    CheckedEndpoint,
    EndpointRefused,
    check_endpoint,
    pinned_request,
    resolve_endpoint,
)
from fjernlaan.settings import Settings


def settings(**values: Any) -> Settings:
    return Settings(
        database_url="sqlite://",
        **{"iso18626_allow_local_endpoints": False, "iso18626_endpoint_allowlist": "", **values},
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/iso18626",
        "https://127.8.9.10/iso18626",
        "https://[::1]:8443/iso18626",
        "https://169.254.169.254/latest/meta-data",
        "https://[fe80::1]/iso18626",
        "https://10.0.0.1/iso18626",
        "https://172.16.5.5/iso18626",
        "https://192.168.0.10/iso18626",
        "https://100.64.0.1/iso18626",
        "https://0.0.0.0/iso18626",
        "https://224.0.0.1/iso18626",
        "https://[::ffff:127.0.0.1]/iso18626",
        "https://localhost/iso18626",
        "https://api.localhost/iso18626",
        "http://93.184.215.14/iso18626",
        "http://peer.example/iso18626",
        "https://admin:pw@peer.example/iso18626",
        "gopher://peer.example/",
        "https:///iso18626",
        "https://peer.example:99999/",
    ],
)
def test_an_endpoint_inside_or_over_plain_http_is_refused_when_stored(url: str) -> None:
    with pytest.raises(EndpointRefused):
        check_endpoint(url, settings())


@pytest.mark.parametrize(
    "url",
    ["https://peer.example/iso18626", "https://93.184.215.14:8443/iso18626", "https://[2001:4860::8888]/"],
)
def test_https_to_a_public_host_is_accepted(url: str) -> None:
    check_endpoint(url, settings())


def test_an_allow_listed_range_may_be_private_and_plain_http() -> None:
    allowing = settings(iso18626_endpoint_allowlist="10.20.0.0/16, fd00::/8")
    check_endpoint("http://10.20.1.2:8080/iso18626", allowing)
    check_endpoint("http://[fd00::5]/iso18626", allowing)
    check_endpoint("http://peer.intern/iso18626", allowing)  # resolved and checked when sending
    with pytest.raises(EndpointRefused):
        check_endpoint("http://10.21.1.2/iso18626", allowing)
    with pytest.raises(EndpointRefused):
        check_endpoint("https://127.0.0.1/iso18626", allowing)


def test_the_development_setting_allows_loopback_over_http() -> None:
    check_endpoint("http://127.0.0.1:8001/iso18626", settings(iso18626_allow_local_endpoints=True))
    check_endpoint("http://localhost:8001/iso18626", settings(iso18626_allow_local_endpoints=True))


def test_at_sending_a_name_is_resolved_and_every_address_checked() -> None:
    # "localhost" resolves to loopback without any network: refused unless allowed.
    with pytest.raises(EndpointRefused, match="loopback"):
        resolve_endpoint("https://localhost:8443/iso18626", settings())
    checked = resolve_endpoint(
        "http://localhost:8001/iso18626", settings(iso18626_allow_local_endpoints=True)
    )
    assert all(a.is_loopback for a in checked.addresses)
    allowing = settings(iso18626_endpoint_allowlist="127.0.0.0/8,::1/128")
    assert all(a.is_loopback for a in resolve_endpoint("http://localhost:8001/x", allowing).addresses)


def test_a_name_that_does_not_resolve_is_refused_at_sending() -> None:
    with pytest.raises(EndpointRefused, match="resolve"):
        resolve_endpoint("https://no-such-host.invalid/iso18626", settings())


def test_the_connection_goes_to_the_checked_address_with_tls_on_the_name() -> None:
    address = ipaddress.ip_address("93.184.215.14")
    checked = CheckedEndpoint(
        url="https://peer.example:8443/iso/18626?x=1",
        scheme="https",
        host="peer.example",
        addresses=(address,),
    )
    assert pinned_request(checked, address) == (
        "https://93.184.215.14:8443/iso/18626?x=1",
        {"sni_hostname": "peer.example"},
    )
    six_address = ipaddress.ip_address("2001:db8::1")
    six = CheckedEndpoint("http://peer.example/x", "http", "peer.example", (six_address,))
    assert pinned_request(six, six_address) == ("http://[2001:db8::1]/x", {})
