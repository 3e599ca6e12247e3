"""The review section's HTML error page: it leads back to the tab the failed page belongs to."""

from __future__ import annotations

import pytest

from handlers.review.web import back_tab
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
