"""Every file an admin or API docs page links answers, fingerprinted names
included, from `make run` (ASGI) and from production's gunicorn (WSGI)."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx
import pytest

from bench.embedded import free_port
from bench.stack import GUNICORN_CONFIG
from tests.config.test_runstack import embedded_only
from tests.firstrun.conftest import admin_login
from tests.live import FirstRun, Process, wait_until

# The stack as `make run` starts it, on the embedded default: CI runs these
# in its embedded pass only.
pytestmark = embedded_only

CSS_URL = re.compile(r"""url\(\s*["']?([^"')]+)["']?\s*\)""")
TYPES = {".css": "text/css", ".js": "javascript", ".svg": "image/svg+xml",
         ".png": "image/png"}  # fmt: skip


class Assets(HTMLParser):
    """The URLs a page makes a browser load: styles, icons, scripts, images."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.page = page
        self.urls: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        url = found.get("href") if tag == "link" else found.get("src")
        if tag in {"link", "script", "img"} and url:
            self.urls.add(urljoin(self.page, url))


def assets(page: str, html: str) -> set[str]:
    parser = Assets(page)
    parser.feed(html)
    return parser.urls


def pages(api_client: httpx.Client) -> list[str]:
    policy = api_client.get("/api/v1/escalation-policies/").json()["results"][0]
    return [
        "/admin/",
        "/admin/incidents/incident/",
        "/admin/incidents/incident/add/",
        f"/admin/escalation/escalationpolicy/{policy['id']}/change/",
        "/admin/notifications/delivery/",
        "/api/docs/",
    ]


@pytest.fixture(params=["make run (uvicorn)", "production (gunicorn)"])
def server(request: pytest.FixtureRequest, stack: FirstRun) -> Iterator[str]:
    """The base URL of a web server of the first run's data and static files."""
    if request.param.startswith("make run"):
        yield stack.url
        return
    port = free_port()
    web = Process(
        [sys.executable, "-m", "gunicorn", "-c", GUNICORN_CONFIG,
         "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "2"],
        stack.env,
        stack.stack.log.with_name("gunicorn.log"),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _serves(f"{url}/admin/login/"), "gunicorn to serve")
        yield url
    finally:
        web.stop()


def _serves(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_every_file_the_pages_link_answers(server: str, stack: FirstRun, api):
    with httpx.Client(base_url=server, timeout=30) as browser:
        login = browser.get("/admin/login/")
        linked = assets(str(login.url), login.text)
        admin_login(browser, stack)
        for path in pages(api):
            page = browser.get(path)
            assert page.status_code == 200, (path, page.text[-1000:])
            linked |= assets(str(page.url), page.text)
        # The admin's pages link fingerprinted names, as every page does.
        assert any(re.search(r"/admin/css/base\.[0-9a-f]{12}\.css$", u) for u in linked)
        assert any("swagger-ui-bundle." in u for u in linked)
        checked = _fetch_all(browser, linked)
    assert len(checked) > 20, checked


def _fetch_all(browser: httpx.Client, urls: set[str]) -> set[str]:
    """GET every URL and the images and fonts its style sheet names."""
    todo, done = set(urls), set()
    while todo:
        url = todo.pop()
        done.add(url)
        answer = browser.get(url)
        assert answer.status_code == 200, (url, answer.status_code)
        suffix = re.search(r"\.\w+$", url.split("?")[0])
        expected = TYPES.get(suffix.group(0) if suffix else "")
        if expected:
            assert expected in answer.headers["content-type"], url
        if url.endswith(".css"):
            for found in CSS_URL.findall(answer.text):
                if not found.startswith(("data:", "#")):
                    todo.add(urljoin(url, found))
        todo -= done
    return done


def test_a_file_that_is_not_there_answers_404(stack: FirstRun):
    missing = httpx.get(f"{stack.url}/static/admin/css/base.0123456789ab.css")
    assert missing.status_code == 404
