"""A local web site for the tests of `qabot add` and `/add`, served on 127.0.0.1 by a thread of the tests.

Pages with and without a date, a PDF, redirects (to a page, to a private address, in a loop), a 50 MB body
(declared, and streamed without a length), a slow server, a stalled one, wrong content types, a gzip bomb.
Every request is recorded with its headers, so tests can check what the client sent (and what it did not).
"""

from __future__ import annotations

import gzip
import http.server
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.test_formats import minimal_pdf

DATED = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Lake Sevan rises again | Caucasus Water News</title>
<meta name="author" content="Anna Petrosyan">
<meta property="article:published_time" content="2024-05-14T09:30:00+04:00">
<meta property="og:site_name" content="Caucasus Water News">
</head><body><nav><a href="/">Home</a> <a href="/lakes">Lakes</a> <a href="/rivers">Rivers</a></nav>
<article><h1>Lake Sevan rises again</h1>
<p>The water level of Lake Sevan rose by 14 centimetres over the spring, the hydrometeorological
service said on Monday.</p>
<p>Engineers credit the rise to a snowy winter in the Gegham mountains and to limits on irrigation
withdrawals.</p>
<p>The lake still lies about 18 metres below its level of the 1930s, before water was drained for
hydropower.</p>
</article><footer>Subscribe to our newsletter. Cookie settings.</footer></body></html>"""

UNDATED = """<!DOCTYPE html><html><head><title>Apricot harvest notes</title></head><body>
<article><h1>Apricot harvest notes</h1>
<p>Growers in the Ararat valley picked apricots two weeks earlier than usual this summer, according to the
cooperative.</p>
<p>The cooperative said the early harvest followed an unusually warm April across the valley floor.</p>
<p>Most of the crop was sold fresh in Yerevan markets rather than dried for export.</p>
</article></body></html>"""

MARKDOWN = """---
title: Tatev cable car notes
author: Karen Hakobyan
---
# Tatev cable car notes

The Wings of Tatev cable car carried its two millionth passenger in the autumn.

It spans 5,752 metres across the Vorotan gorge, one of the longest reversible aerial tramways.
"""

PDF = minimal_pdf(
    ["Copper exports report.", "Armenian copper concentrate exports grew by 9 percent in 2023."]
)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
FIFTY_MB = 50_000_000


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]


@dataclass
class Site:
    """The running site: its base URL and every request it received."""

    port: int
    requests: list[Request] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


Route = Callable[["Handler"], None]


class Handler(http.server.BaseHTTPRequestHandler):
    site: Site
    protocol_version = "HTTP/1.0"  # one request per connection; bodies without a length end at close

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.site.requests.append(Request(self.path, {k.lower(): v for k, v in self.headers.items()}))
        route = ROUTES.get(self.path.split("?")[0])
        try:
            if route is None:
                self.send_error(404)
            else:
                route(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading (a refused download): that is the point of those routes

    def send(self, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location: str, status: int = 302, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", "0")
        self.end_headers()


def _stream(h: Handler, total: int, declared: bool) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/plain")
    if declared:
        h.send_header("Content-Length", str(total))
    h.end_headers()
    block = b"a" * 65536
    for _ in range(total // len(block) + 1):
        h.wfile.write(block)


def _slow(h: Handler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/html")
    h.end_headers()
    for _ in range(100):  # 20 s at most, a byte at a time: never silent long enough for a read timeout
        h.wfile.write(b"<")
        h.wfile.flush()
        time.sleep(0.2)


def _stall(h: Handler) -> None:
    time.sleep(5)  # accepts, then says nothing


ROUTES: dict[str, Route] = {
    "/article.html": lambda h: h.send(DATED.encode(), "text/html; charset=utf-8"),
    "/undated.html": lambda h: h.send(UNDATED.encode(), "text/html"),
    "/notes.md": lambda h: h.send(MARKDOWN.encode(), "text/markdown"),
    "/report.pdf": lambda h: h.send(PDF, "application/pdf"),
    "/page-as-binary": lambda h: h.send(DATED.encode(), "application/octet-stream"),
    "/image-as-html": lambda h: h.send(PNG, "text/html"),
    "/empty.html": lambda h: h.send(b"<html><body><script>app()</script></body></html>", "text/html"),
    "/gzip-bomb": lambda h: h.send(gzip.compress(bytes(60_000_000)), "text/html", Content_Encoding="gzip"),
    "/moved": lambda h: h.redirect("/article.html", 301),
    "/to-private": lambda h: h.redirect("http://10.20.30.40/admin"),
    "/to-metadata": lambda h: h.redirect("http://169.254.169.254/latest/meta-data/"),
    "/loop": lambda h: h.redirect("/loop"),
    "/with-cookie": lambda h: h.redirect("/undated.html", Set_Cookie="session=secret; Path=/"),
    "/big": lambda h: _stream(h, FIFTY_MB, declared=True),
    "/big-unannounced": lambda h: _stream(h, FIFTY_MB, declared=False),
    "/slow": _slow,
    "/stall": _stall,
}


@contextmanager
def serve() -> Iterator[Site]:
    """The site on a free loopback port, for as long as the block runs."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    site = Site(server.server_address[1])
    Handler.site = site
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
