"""The review section's HTML error page: it leads back to the tab the failed page belongs to."""

from __future__ import annotations

import httpx
import pytest

from handlers.review.web import back_tab, in_review
from tests.review_seed import sign_in


@pytest.mark.parametrize(("path", "tab"), [
    ("/review/actions", ("/review/actions", "Actions")),
    ("/review/actions/12", ("/review/actions", "Actions")),
    ("/review/observations", ("/review/observations", "Observations")),
    ("/review/observations/x/y", ("/review/observations", "Observations")),
    ("/review/orders/7/approve", ("/review", "Orders")),
    ("/review", ("/review", "Orders")),
    ("/review/login", ("/review", "Orders")),
    ("/review/actionsX", ("/review", "Orders")),  # a segment, not a prefix
    ("/reviewer/actions", ("/review", "Orders")),
    ('/review/actions"><script>alert(1)</script>', ("/review", "Orders")),
])
def test_the_back_link_is_the_failed_paths_tab(path, tab):
    assert back_tab(path) == tab


@pytest.mark.parametrize(("path", "status", "link"), [
    ("/review/actions?cursor=-1", 400, '<a href="/review/actions">Back to Actions</a>'),
    ("/review/observations?cursor=-1", 400, '<a href="/review/observations">Back to Observations</a>'),
    ("/review/orders/999999", 404, '<a href="/review">Back to Orders</a>'),
])
def test_an_error_page_leads_back_to_its_tab(server, path, status, link):
    response = sign_in(server.url).get(path)
    assert response.status_code == status and response.headers["content-type"].startswith("text/html")
    assert link in response.text and "review queue" not in response.text


def html_error(response, status: int) -> str:
    """The error page's text, once it is the review section's HTML page with that status, never cached."""
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("text/html"), response.headers["content-type"]
    assert response.headers["cache-control"] == "no-store"
    return response.text


@pytest.mark.parametrize(("path", "link"), [
    ("/review/nope", '<a href="/review">Back to Orders</a>'),
    ("/review/orders/1/nope", '<a href="/review">Back to Orders</a>'),
    ("/review/orders/abc", '<a href="/review">Back to Orders</a>'),  # a path parameter that is no int
    ("/review/actions/1/nope", '<a href="/review/actions">Back to Actions</a>'),
    ("/review/observations/nope", '<a href="/review/observations">Back to Observations</a>'),
])
def test_an_unmatched_review_path_is_the_html_404_page_signed_in_or_not(server, path, link):
    signed_in = sign_in(server.url)
    page = html_error(signed_in.get(path), 404)
    assert link in page and "<h1>404</h1>" in page
    assert signed_in.csrf not in page and "Sign out" not in page  # no session data: the same page as signed out
    assert html_error(httpx.get(server.url + path), 404) == page


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("PUT", "/review/orders", "GET"),
    ("DELETE", "/review/actions", "GET"),
    ("PUT", "/review/orders/1/approve", "POST"),  # a form's own path answers only POST (a GET goes to its page)
    ("DELETE", "/review/actions/1", "POST"),
])
def test_a_wrong_method_on_a_review_page_is_the_html_405_page_with_allow(server, method, path, allowed):
    response = sign_in(server.url).request(method, path)
    assert "<h1>405</h1>" in html_error(response, 405)
    assert allowed in response.headers["allow"]


def test_the_path_is_never_reflected_unescaped(server):
    page = html_error(httpx.get(server.url + "/review/%3Cscript%3Ealert(1)%3C%2Fscript%3E"), 404)
    assert "<script" not in page


def test_head_on_an_unmatched_review_path_is_the_404_pages_headers(server):
    response = httpx.head(server.url + "/review/nope")
    assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
    assert response.content == b""


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/api/nope", 404),
    ("PUT", "/api/proposed-actions", 405),
    ("GET", "/reviewer", 404),  # beside /review, not under it
    ("GET", "/nope", 404),
    ("GET", "/static/nope.css", 404),
])
def test_unmatched_paths_outside_review_keep_their_problem_json(server, method, path, status):
    response = httpx.request(method, server.url + path)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == status


@pytest.mark.parametrize(("path", "ours"), [("/review", True), ("/review/", True), ("/review/x/y", True),
                                            ("/reviewer", False), ("/api/review", False), ("/", False)])
def test_in_review_is_the_section_and_below(path, ours):
    assert in_review(path) is ours
