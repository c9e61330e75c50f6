"""The page kit over HTTP: landing after login, the role's menu, CSRF from a form or htmx's header,
the table's query parameters, htmx fragments, flash messages and the HTML error page."""

from __future__ import annotations

import re

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.testclient import TestClient

from fjernlaan.web import kit


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _login(client: TestClient, username: str = "admin", password: str = "fjernlaan-admin") -> Response:
    token = _csrf(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def test_staff_land_on_the_staff_page_with_the_menu_of_their_role(client: TestClient) -> None:
    answer = _login(client)
    assert (answer.status_code, answer.headers["location"]) == (303, "/staff")
    page = client.get("/staff", headers={"accept-language": "da"})
    assert "<h1>Arbejde</h1>" in page.text
    assert 'href="/staff" class="nav-link" aria-current="page"' in page.text
    assert 'href="/patron"' not in page.text  # the patron's entry is not a staff entry
    assert page.headers["content-language"] == "da"


def test_the_browser_language_is_used_until_the_user_picks_one(client: TestClient) -> None:
    assert '<html lang="en">' in client.get("/login", headers={"accept-language": "en-GB"}).text
    client.get("/login", params={"lang": "da"})
    assert '<html lang="da">' in client.get("/login", headers={"accept-language": "en-GB"}).text


def test_every_page_carries_the_csrf_token_for_htmx(client: TestClient) -> None:
    page = client.get("/login").text
    assert f'hx-headers=\'{{"X-CSRF-Token": "{_csrf(page)}"}}\'' in page


def test_the_table_query_sorts_and_pages_through_query_parameters(client: TestClient) -> None:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/staff",
        "query_string": b"sort=href&dir=desc&per_page=1&page=2",
        "headers": [],
        "app": client.app,
    }
    request = Request(scope)
    columns = [kit.Column("label", "Page"), kit.Column("href", "Address")]
    query = kit.TableQuery.from_request(request, columns, default_sort="label", per_page=10)
    items = [kit.NavItem(f"Page {n}", f"/p{n}", frozenset()) for n in range(3)]
    rows = sorted(items, key=lambda item: item.href, reverse=query.descending)
    table = kit.Table(columns, rows[query.offset : query.offset + query.limit], len(rows), query, "pages")
    page = bytes(kit.render(request, "kit/demo.html", None, table=table).body).decode()
    assert 'aria-sort="descending"' in page
    assert re.search(r'href="/staff\?sort=href&amp;dir=desc&amp;per_page=1&amp;page=3"', page)
    assert 'aria-current="page">2</a>' in page


def test_render_with_a_block_name_answers_only_that_block_for_htmx(client: TestClient) -> None:
    # The app is in the scope: the CSRF token render() hands the page is keyed with its secret.
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/staff",
        "query_string": b"lang=en",
        "headers": [],
        "app": client.app,
    }
    request = Request({**scope, "headers": [(b"hx-request", b"true")]})
    columns = [kit.Column("label", "Page"), kit.Column("href", "Address")]
    rows = [kit.NavItem("Libraries", "/libraries", frozenset())]
    table = kit.Table(columns, rows, 1, kit.TableQuery(), "pages")
    assert kit.is_htmx(request)
    fragment = kit.render(request, "kit/demo.html", None, block_name="kit_demo", table=table)
    html = bytes(fragment.body).decode()
    assert '<table class="table table--zebra">' in html and "/libraries" in html
    assert "<html" not in html and "(1 row)" in html


def test_csrf_is_checked_from_the_form_or_the_htmx_header(client: TestClient) -> None:
    token = _csrf(client.get("/login").text)
    # The cookie holds a random nonce; the token is an HMAC of it (of the session, once logged in).
    nonce = client.cookies[kit.CSRF_COOKIE]
    assert nonce != token
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "query_string": b"",
        "headers": [],
        "app": client.app,
    }

    def request(headers: dict[str, str]) -> Request:
        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        return Request({**scope, "headers": raw})

    cookie = {"cookie": f"{kit.CSRF_COOKIE}={nonce}"}
    assert kit.check_csrf(request(cookie), token)
    assert kit.check_csrf(request({**cookie, kit.CSRF_HEADER: token}))
    assert not kit.check_csrf(request({**cookie, kit.CSRF_HEADER: "forged"}))
    assert not kit.check_csrf(request({kit.CSRF_HEADER: token}))  # no cookie, no pass


def test_a_flash_message_shows_once_on_the_next_page(client: TestClient) -> None:
    _login(client)
    redirect = RedirectResponse("/staff", status_code=303)
    kit.flash(redirect, "Gemt: Ærø", "success")
    client.cookies.set(kit.FLASH_COOKIE, redirect.headers["set-cookie"].split(";")[0].split("=", 1)[1])
    first = client.get("/staff")
    assert "Gemt: Ærø" in first.text and "alert-success" in first.text
    assert f'{kit.FLASH_COOKIE}=""' in first.headers["set-cookie"]  # shown once: the cookie is cleared


def test_a_missing_page_is_an_html_page_for_a_browser_and_problem_json_for_the_api(
    client: TestClient,
) -> None:
    page = client.get("/no-such-page", headers={"accept": "text/html", "accept-language": "da"})
    assert page.status_code == 404 and "Siden findes ikke" in page.text
    api = client.get("/api/v1/no-such-thing", headers={"accept": "text/html"})
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
