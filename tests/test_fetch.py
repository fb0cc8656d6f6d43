"""Safe fetching and what enters the corpus (qabot.fetch, qabot.intake), against tests/sites.py's local site.

Refusals of private targets are checked before any connection: the `network` fixture (tests/conftest.py)
records every connection the test makes, and refuses any beyond loopback.
"""

from __future__ import annotations

import http.server
import ipaddress
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from qabot import intake
from qabot.config import Settings
from qabot.corpus import text_document
from qabot.fetch import FetchPolicy, fetch, refusal
from tests.conftest import Network
from tests.sites import FIFTY_MB, Site

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)
LOCAL = FetchPolicy(allowed_networks=LOOPBACK)
PUBLIC_ONLY = FetchPolicy()
HINT = "and only public addresses are fetched (QABOT_ALLOWED_NETWORKS can allow a network)"


def added(url: str, policy: FetchPolicy = LOCAL) -> tuple[intake.Incoming, dict[str, str | None]]:
    """The incoming file, and the document the corpus loader reads back from it (title, date, url, meta)."""
    item = intake.from_link(url, policy)
    doc = text_document(item.text, item.name)
    assert doc is not None
    return item, {"title": doc.title, "date": doc.date, "url": doc.url, **doc.meta}


# ---------------------------------------------------------------- the guard itself


def test_the_guard_refuses_beyond_loopback_and_records_it(network: Network, site: Site) -> None:
    with pytest.raises(ConnectionRefusedError, match="test network guard"):
        socket.create_connection(("192.0.2.1", 80), timeout=1)  # TEST-NET-1: never routed anyway
    with pytest.raises(socket.gaierror, match=r"no DNS lookup of example\.com"):
        socket.getaddrinfo("example.com", 80)
    assert network.refused == ["connect 192.0.2.1:80", "DNS lookup of example.com"]
    network.refused.clear()  # (or this test would fail at teardown, as any test that tries should)
    with socket.create_connection(("127.0.0.1", site.port), timeout=5):
        pass
    assert network.connections == [("192.0.2.1", 80), ("127.0.0.1", site.port)]


# ---------------------------------------------------------------- pages, PDFs, text


def test_a_dated_page_keeps_its_title_date_author_site_and_url(site: Site) -> None:
    item, doc = added(site.url("/article.html"))
    assert item.name == "lake-sevan-rises-again.txt"
    assert item.text.startswith(
        "---\ntitle: Lake Sevan rises again\ndate: '2024-05-14'\nauthor: Anna Petrosyan\n"
        f"source: Caucasus Water News\nurl: {site.url('/article.html')}\n"
        f"fetched_from: {site.url('/article.html')}\n---\nLake Sevan rises again\n"
    )
    assert doc == {
        "title": "Lake Sevan rises again",
        "date": "2024-05-14",
        "url": site.url("/article.html"),
        "author": "Anna Petrosyan",
        "source": "Caucasus Water News",
        "fetched_from": site.url("/article.html"),
    }
    assert "rose by 14 centimetres" in item.text and "Cookie settings" not in item.text


def test_a_page_without_a_date_or_site_name_says_null(site: Site) -> None:
    item, doc = added(site.url("/undated.html"))
    assert "\ndate: null\nauthor: null\nsource: null\n" in item.text
    assert doc["date"] is None and doc["url"] == site.url("/undated.html")
    assert doc["title"] == "Apricot harvest notes"


def test_a_pdf_becomes_text_under_front_matter(site: Site) -> None:
    item, doc = added(site.url("/report.pdf"))
    assert item.name == "copper-exports-report.txt"
    assert doc["title"] == "Copper exports report." and doc["url"] == site.url("/report.pdf")
    assert "Armenian copper concentrate exports grew by 9 percent in 2023." in item.text


def test_markdown_keeps_its_own_front_matter_and_gains_the_link(site: Site) -> None:
    item, doc = added(site.url("/notes.md"))
    assert item.name == "notes.md"
    assert doc["title"] == "Tatev cable car notes" and doc["author"] == "Karen Hakobyan"
    assert doc["url"] == site.url("/notes.md") and doc["fetched_from"] == site.url("/notes.md")
    assert item.text.count("---\n") == 2 and "# Tatev cable car notes\n\nThe Wings of Tatev" in item.text


def test_content_type_is_sniffed_not_trusted(site: Site) -> None:
    _, doc = added(site.url("/page-as-binary"))  # served as application/octet-stream
    assert doc["title"] == "Lake Sevan rises again"
    with pytest.raises(
        intake.Refused, match=r"^it is not a web page, a PDF or a text file \(it looks like a PNG"
    ):
        intake.from_link(site.url("/image-as-html"), LOCAL)  # served as text/html


def test_redirects_are_followed_and_known_by_every_link(site: Site) -> None:
    item, doc = added(site.url("/moved"))
    assert doc["url"] == site.url("/article.html") and doc["fetched_from"] == site.url("/moved")
    assert set(item.urls) == {site.url("/moved"), site.url("/article.html")}


def test_no_cookie_or_credentials_are_sent(site: Site) -> None:
    added(site.url("/with-cookie"))  # its redirect sets a cookie
    followed = [r for r in site.requests if r.path == "/undated.html"][-1]
    assert "cookie" not in followed.headers and "authorization" not in followed.headers
    assert followed.headers["user-agent"].startswith("qabot/")


# ---------------------------------------------------------------- refusals, before any connection


@pytest.mark.parametrize(
    ("link", "reason"),
    [
        ("http://10.20.30.40/internal", f"10.20.30.40 is a private address, {HINT}"),
        ("http://169.254.169.254/latest/meta-data/", f"169.254.169.254 is a link-local address, {HINT}"),
        ("http://[::ffff:127.0.0.1]:{port}/article.html", f"::ffff:7f00:1 is a loopback address, {HINT}"),
        (
            "http://localhost:{port}/article.html",
            f"localhost resolves to 127.0.0.1, a loopback address, {HINT}",
        ),
        (
            "http://2130706433:{port}/article.html",
            f"2130706433 resolves to 127.0.0.1, a loopback address, {HINT}",
        ),
        ("http://0.0.0.0:{port}/", f"0.0.0.0 is an unspecified address, {HINT}"),
        ("http://100.64.0.1/", f"100.64.0.1 is not a public address, {HINT}"),
        ("http://[fd00::1]/", f"fd00::1 is a private address, {HINT}"),
        ("ftp://example.com/file.txt", "only http and https links can be added, not ftp"),
        ("file:///etc/passwd", "only http and https links can be added, not file"),
        ("http://user:secret@example.com/", "links with a user name or password are refused"),
        ("http://exa mple.com/", "it is not a valid link (it is empty or contains spaces)"),
    ],
)
def test_private_and_malformed_links_are_refused_before_connecting(
    network: Network, site: Site, link: str, reason: str
) -> None:
    with pytest.raises(intake.Refused) as refused:
        intake.from_link(link.format(port=site.port), PUBLIC_ONLY)
    assert str(refused.value).startswith(reason)
    assert network.connections == []  # nothing connected anywhere, loopback included


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        (
            "/to-private",
            f"it redirects to http://10.20.30.40/admin; 10.20.30.40 is a private address, {HINT}",
        ),
        (
            "/to-metadata",
            "it redirects to http://169.254.169.254/latest/meta-data/; 169.254.169.254 is a link-local",
        ),
    ],
)
def test_a_redirect_to_a_private_address_is_refused_before_connecting_to_it(
    network: Network, site: Site, path: str, reason: str
) -> None:
    with pytest.raises(intake.Refused) as refused:
        intake.from_link(site.url(path), LOCAL)  # the site itself is allowed: 127.0.0.0/8
    assert str(refused.value).startswith(reason)
    assert network.connections == [("127.0.0.1", site.port)]  # the first hop only


def test_the_connection_goes_to_the_address_that_was_checked(network: Network, site: Site) -> None:
    """The host name is resolved once, per hop; the connection uses that address (a second answer, as
    DNS rebinding would give, is never asked for) and the name goes in the Host header."""
    answers = iter([["127.0.0.1"], ["10.9.9.9"]])
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return next(answers)

    policy = FetchPolicy(allowed_networks=LOOPBACK, resolve=resolve)
    download = fetch(f"http://news.example:{site.port}/article.html", policy)
    assert b"Lake Sevan" in download.body
    assert asked == ["news.example"]
    assert network.connections == [("127.0.0.1", site.port)]
    assert site.requests[-1].headers["host"] == f"news.example:{site.port}"


def test_a_name_with_any_private_address_is_refused(network: Network, site: Site) -> None:
    policy = FetchPolicy(allowed_networks=LOOPBACK, resolve=lambda host, port: ["127.0.0.1", "10.0.0.5"])
    with pytest.raises(intake.Refused, match=r"^news\.example resolves to 10\.0\.0\.5, a private address"):
        intake.from_link(f"http://news.example:{site.port}/article.html", policy)
    assert network.connections == []


# ---------------------------------------------------------------- size, time, content


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/big", "it is larger than the 20 MB limit (50 MB)"),
        ("/big-unannounced", "it is larger than the 20 MB limit"),
        ("/gzip-bomb", "it is larger than the 20 MB limit once decompressed"),
        ("/missing.html", "the server answered 404 Not Found"),
        ("/loop", "the link redirects more than 5 times"),
        ("/empty.html", "no text could be found in it"),
    ],
)
def test_downloads_past_the_limits_or_without_text_are_refused(site: Site, path: str, reason: str) -> None:
    began = time.monotonic()
    with pytest.raises(intake.Refused) as refused:
        intake.from_link(site.url(path), LOCAL)
    assert str(refused.value).startswith(reason)
    assert time.monotonic() - began < 10


def test_a_declared_50_mb_body_is_refused_before_reading_it(site: Site) -> None:
    policy = FetchPolicy(allowed_networks=LOOPBACK, max_bytes=FIFTY_MB - 1)
    with pytest.raises(intake.Refused, match=r"\(50 MB\)$"):
        intake.from_link(site.url("/big"), policy)


@pytest.mark.parametrize("path", ["/slow", "/stall"])
def test_a_slow_server_is_cut_off_at_the_time_limit(site: Site, path: str) -> None:
    """/slow sends a byte every 0.2 s (no single read ever times out), /stall sends nothing."""
    policy = FetchPolicy(allowed_networks=LOOPBACK, timeout=1.0)
    began = time.monotonic()
    with pytest.raises(intake.Refused, match=r"^127\.0\.0\.1 did not send the page within 1 s$"):
        intake.from_link(site.url(path), policy)
    assert 0.9 < time.monotonic() - began < 2.0


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("10.1.2.3", "a private address"),
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("fe80::1", "a link-local address"),
        ("::ffff:10.0.0.1", "a private address"),
        ("2002:7f00:1::", "a loopback address"),  # 6to4 of 127.0.0.1
        ("224.0.0.1", "a multicast address"),
        ("100.64.0.1", "not a public address"),
        ("192.0.2.1", "a private address"),  # documentation range
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_what_counts_as_public(address: str, kind: str | None) -> None:
    assert refusal(ipaddress.ip_address(address)) == kind


def test_allowed_networks_open_only_themselves() -> None:
    allowed = (ipaddress.ip_network("10.0.0.0/8"),)
    assert refusal(ipaddress.ip_address("10.1.2.3"), allowed) is None
    assert refusal(ipaddress.ip_address("::ffff:10.1.2.3"), allowed) is None
    assert refusal(ipaddress.ip_address("192.168.1.1"), allowed) == "a private address"


def test_allowed_networks_setting_is_a_json_list_of_cidrs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QABOT_ALLOWED_NETWORKS", '["10.0.0.0/8", "fd00::/8"]')
    assert Settings().allowed_networks == [
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("fd00::/8"),
    ]
    assert Settings(allowed_networks=[]).allowed_networks == []
    monkeypatch.setenv("QABOT_ALLOWED_NETWORKS", '["10.0.0.1/8"]')  # host bits set: a typo, not a network
    with pytest.raises(ValidationError):
        Settings()


# ---------------------------------------------------------------- files and uploads


def test_local_files_are_copied_or_extracted(tmp_path: Path) -> None:
    from tests.sites import DATED, PDF

    notes = tmp_path / "My Notes.md"
    notes.write_text("---\ntitle: Field notes\n---\nThe ferry to Sevanavank runs in summer only.\n")
    copied = intake.from_file(notes, 1000)
    assert copied.name == "my-notes.md" and copied.text == notes.read_text()
    (tmp_path / "page.html").write_text(DATED)
    page = intake.from_file(tmp_path / "page.html", 100_000)
    assert page.name == "lake-sevan-rises-again.txt" and page.document.date == "2024-05-14"
    assert page.document.url is None  # a file names no link unless its page has a canonical one
    (tmp_path / "r.pdf").write_bytes(PDF)
    assert "copper concentrate" in intake.from_file(tmp_path / "r.pdf", 100_000).text


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("tool.exe", b"MZ\x90\x00", "only .html, .pdf, .txt, .md files can be added, not '.exe'"),
        (
            "report.pdf",
            b"<html><body><p>Not a PDF at all.</p></body></html>",
            "it is named .pdf but is not a PDF",
        ),
        ("notes.txt", "Café crème".encode("latin-1"), "it is not UTF-8 text (byte 3)"),
        ("notes.txt", b"%PDF-1.4\n", "it is named .txt but is a PDF"),
        ("empty.md", b"   \n", "no text could be found in it"),
        ("big.txt", b"x" * 101, "it is larger than the 100 B limit"),
    ],
)
def test_bad_uploads_are_refused_in_one_clause(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(intake.Refused) as refused:
        intake.from_upload(name, data, 100)
    assert str(refused.value).startswith(reason)


def test_a_folder_or_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(intake.Refused, match=r"^it is a folder"):
        intake.from_file(tmp_path, 100)
    with pytest.raises(intake.Refused, match=r"^there is no such file \(a link needs http:// or https://\)$"):
        intake.from_file(tmp_path / "missing.txt", 100)


# ---------------------------------------------------------------- TLS to the checked address


@pytest.fixture
def tls_site(tmp_path: Path) -> Iterator[tuple[int, Path, list[str]]]:
    """An https server on 127.0.0.1 whose certificate (self-signed, made by openssl) names news.example;
    yields its port, the certificate, and the server names clients asked for (SNI)."""
    import shutil
    import ssl
    import subprocess
    import threading

    from tests.sites import Handler, Site

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    make = [
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=news.example",
    ]
    name = ["-addext", "subjectAltName=DNS:news.example", "-keyout", str(key), "-out", str(cert)]
    subprocess.run([*make, *name], check=True, capture_output=True)
    names: list[str] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: names.append(name or "")  # type: ignore[assignment,misc,func-returns-value]

    class TLSServer(http.server.ThreadingHTTPServer):
        def get_request(self) -> tuple[socket.socket, Any]:
            sock, address = super().get_request()
            return context.wrap_socket(sock, server_side=True), address

    class TLSHandler(Handler):  # (its own `site`: the session's plain site keeps recording its requests)
        pass

    server = TLSServer(("127.0.0.1", 0), TLSHandler)
    server.daemon_threads = True
    TLSHandler.site = Site(server.server_address[1])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], cert, names
    finally:
        server.shutdown()
        server.server_close()


def test_tls_is_verified_for_the_name_at_the_checked_address(
    tls_site: tuple[int, Path, list[str]], network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connecting to an address must not weaken TLS: the certificate is checked for the host name (sent as
    SNI), against the CA bundle; an untrusted certificate, or one for another name, is refused."""
    import certifi

    port, cert, names = tls_site
    resolve = {"news.example": ["127.0.0.1"], "other.example": ["127.0.0.1"]}
    policy = FetchPolicy(allowed_networks=LOOPBACK, resolve=lambda host, p: resolve[host])
    with pytest.raises(intake.Refused, match=r"^the TLS certificate of news\.example could not be verified$"):
        intake.from_link(f"https://news.example:{port}/article.html", policy)  # self-signed: not in certifi
    monkeypatch.setattr(certifi, "where", lambda: str(cert))  # as if a CA had signed it
    item = intake.from_link(f"https://news.example:{port}/article.html", policy)
    assert item.document.title == "Lake Sevan rises again"
    with pytest.raises(
        intake.Refused, match=r"^the TLS certificate of other\.example could not be verified$"
    ):
        intake.from_link(f"https://other.example:{port}/article.html", policy)
    assert names == ["news.example", "news.example", "other.example"]
    assert {c[0] for c in network.connections} == {"127.0.0.1"}
