"""Safe downloading for `qabot add` and `/add`: public http(s) addresses only, within a size and time limit.

Every hop (the link, then each redirect) is checked before anything connects: the scheme is http or
https, the link carries no user name or password, and every address its host resolves to is public (or
inside a network the settings allow, `QABOT_ALLOWED_NETWORKS`). The connection is then made to the
address that was checked: the name is never resolved a second time, so a DNS answer that changes between
the check and the connection (DNS rebinding) cannot steer it to another host. The name is kept for the
Host header, TLS SNI and the certificate check.

urllib3 does the HTTP: it is already installed (trafilatura and htmldate use it), connects to a given
address while verifying the certificate for a given name (`server_hostname`, `assert_hostname`), has no
cookie jar and sends no credentials, and leaves redirects to us (`redirect=False`) so each one is checked.
The body is read as it arrives, against the size cap and one deadline for the whole download.
"""

from __future__ import annotations

import ipaddress
import socket
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

import certifi
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from qabot.config import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]

REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
CHUNK = 64 * 1024
USER_AGENT = "qabot/0.1 (fetches one page a user asked to add)"
ALLOW_HINT = "only public addresses are fetched (QABOT_ALLOWED_NETWORKS can allow a network)"


class FetchError(ValueError):
    """A link that cannot be fetched; the message says why in one clause (lowercase, no final period)."""


def system_resolve(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host`, in its order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class FetchPolicy:
    """What a download may do. `resolve` is injectable so tests can name hosts without DNS."""

    allowed_networks: tuple[IPNetwork, ...] = ()
    max_bytes: int = 20_000_000
    timeout: float = 20.0
    max_redirects: int = MAX_REDIRECTS
    resolve: Resolver = system_resolve

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        return cls(
            allowed_networks=tuple(settings.allowed_networks),
            max_bytes=settings.fetch_max_bytes,
            timeout=settings.fetch_timeout_seconds,
        )


@dataclass(frozen=True)
class Target:
    """One checked-to-parse link: where to connect and what to ask for."""

    url: str
    scheme: str
    host: str  # ASCII (IDNA), without brackets
    port: int
    path: str  # path and query, percent-encoded

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


@dataclass(frozen=True)
class Download:
    """A fetched body. `content_type` is what the server declared: shown, never trusted."""

    requested: str
    url: str  # where the body came from, after redirects
    body: bytes
    content_type: str | None


def megabytes(n: int) -> str:
    """A size for people: 20 MB, 512 kB, 100 B."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.3g} MB"
    return f"{n / 1000:.3g} kB" if n >= 1000 else f"{n} B"


def parse_target(url: str) -> Target:
    """The link's parts, or FetchError when it is not an http(s) link qabot may follow."""
    text = url.strip()
    if not text or any(c.isspace() or ord(c) < 32 for c in text):
        raise FetchError("it is not a valid link (it is empty or contains spaces)")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise FetchError("it is not a valid link") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(f"only http and https links can be added, not {scheme or 'links without a scheme'}")
    if parts.username is not None or parts.password is not None:
        raise FetchError("links with a user name or password are refused (qabot sends no credentials)")
    if not parts.hostname:
        raise FetchError("the link has no host name")
    try:
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise FetchError(f"the host name {parts.hostname} is not valid") from None
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=~-._")
    if parts.query:
        path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=~-._?")
    return Target(text, scheme, host, port or (443 if scheme == "https" else 80), path)


def refusal(address: IPAddress, allowed: Sequence[IPNetwork] = ()) -> str | None:
    """Why `address` may not be fetched from ("a private address", ...), or None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:  # ::ffff:10.0.0.1 and 2002:0a00:0001:: reach the IPv4 address inside
            return refusal(embedded, allowed)
    if any(address.version == net.version and address in net for net in allowed):
        return None
    checks = (
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_unspecified", "an unspecified address"),
        ("is_private", "a private address"),
        ("is_reserved", "a reserved address"),
    )
    for attribute, kind in checks:
        if getattr(address, attribute):
            return kind
    return None if address.is_global else "not a public address"


def checked_address(target: Target, policy: FetchPolicy) -> IPAddress:
    """The address to connect to: the host's, resolved once; FetchError when any of them is not public.

    Every resolved address must pass, not just the first: a name that resolves to a public and a private
    address is refused rather than trusted to pick the right one.
    """
    literal = _literal(target.host)
    addresses = [literal] if literal is not None else _resolved(target, policy)
    for address in addresses:
        kind = refusal(address, policy.allowed_networks)
        if kind is not None:
            where = f"{address} is" if literal is not None else f"{target.host} resolves to {address},"
            raise FetchError(f"{where} {kind}, and {ALLOW_HINT}")
    return addresses[0]


def precheck(url: str, policy: FetchPolicy) -> None:
    """What can be refused without the network: the link's form, and its address when it is one."""
    target = parse_target(url)
    literal = _literal(target.host)
    if literal is not None:
        checked_address(target, policy)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _resolved(target: Target, policy: FetchPolicy) -> list[IPAddress]:
    try:
        found = policy.resolve(target.host, target.port)
    except (OSError, UnicodeError):
        found = []
    addresses = [ipaddress.ip_address(a.split("%")[0]) for a in found]  # (an IPv6 zone is dropped)
    if not addresses:
        raise FetchError(f"the host name {target.host} does not resolve to an address")
    return addresses


def fetch(url: str, policy: FetchPolicy) -> Download:
    """GET `url` following at most `policy.max_redirects` redirects, each checked before it connects."""
    deadline = time.monotonic() + policy.timeout
    current = url
    for hop in range(policy.max_redirects + 1):
        try:
            target = parse_target(current)
            address = checked_address(target, policy)  # before any connection to this hop
        except FetchError as exc:
            raise FetchError(f"it redirects to {current}; {exc}" if hop else str(exc)) from None
        outcome = _get(target, address, policy, deadline)
        if isinstance(outcome, Download):
            return Download(url, outcome.url, outcome.body, outcome.content_type)
        current = outcome
    raise FetchError(f"the link redirects more than {policy.max_redirects} times")


def _get(target: Target, address: IPAddress, policy: FetchPolicy, deadline: float) -> Download | str:
    """One request to the checked address: the body, or the absolute URL it redirects to."""
    pool = _pool(target, address, _remaining(deadline, policy, target))
    try:
        response = pool.urlopen(
            "GET",
            target.path,
            headers={
                "Host": target.host_header,
                "User-Agent": USER_AGENT,
                "Accept": "text/html,application/xhtml+xml,application/pdf,text/plain;q=0.9,*/*;q=0.5",
                "Accept-Encoding": "gzip, deflate",
            },
            redirect=False,
            retries=False,
            preload_content=False,
            decode_content=False,
            assert_same_host=False,
        )
        try:
            if response.status in REDIRECTS:
                location = response.headers.get("Location")
                if not location:
                    raise FetchError(f"the server redirected ({response.status}) without saying where")
                return urljoin(target.url, location.strip())
            if response.status != 200:
                raise FetchError(f"the server answered {response.status} {response.reason or ''}".rstrip())
            body = _read(response, target, policy, deadline)
            encoding = (response.headers.get("Content-Encoding") or "").strip().lower()
            return Download(
                target.url,
                target.url,
                _decoded(body, encoding, policy.max_bytes),
                response.headers.get("Content-Type"),
            )
        finally:
            response.release_conn()
    except HTTPError as exc:
        raise FetchError(_explain(exc, target, policy)) from None
    finally:
        pool.close()


def _pool(target: Target, address: IPAddress, seconds: float) -> urllib3.HTTPConnectionPool:
    timeout = urllib3.Timeout(connect=seconds, read=seconds)
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            str(address),
            target.port,
            timeout=timeout,
            retries=False,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            server_hostname=target.host,  # SNI, and the name the certificate must be valid for
            assert_hostname=target.host,
        )
    return urllib3.HTTPConnectionPool(str(address), target.port, timeout=timeout, retries=False)


def _remaining(deadline: float, policy: FetchPolicy, target: Target) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchError(f"{target.host} did not send the page within {policy.timeout:g} s")
    return left


def _read(response: urllib3.BaseHTTPResponse, target: Target, policy: FetchPolicy, deadline: float) -> bytes:
    """The body, chunk by chunk as it arrives; refused past the cap or the deadline."""
    too_big = f"it is larger than the {megabytes(policy.max_bytes)} limit"
    declared = (response.headers.get("Content-Length") or "").strip()
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise FetchError(f"{too_big} ({megabytes(int(declared))})")  # refused before reading any of it
    chunks: list[bytes] = []
    total = 0
    while True:
        # The socket timeout is what is left of the deadline, so a server that trickles a byte at a
        # time cannot stretch one download past it (urllib3's read timeout applies to each read).
        sock = getattr(getattr(response, "connection", None), "sock", None)
        if sock is not None:
            sock.settimeout(_remaining(deadline, policy, target))
        chunk = response.read1(CHUNK)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > policy.max_bytes:
            raise FetchError(too_big)
        chunks.append(chunk)
        _remaining(deadline, policy, target)


def _decoded(body: bytes, encoding: str, max_bytes: int) -> bytes:
    """The body without its transfer compression, inflated no further than the cap (a gzip bomb stops)."""
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise FetchError(f"the server compressed the page in a way qabot cannot read ({encoding})")
    try:
        inflated = zlib.decompressobj(47).decompress(body, max_bytes + 1)  # 47: gzip or zlib header
    except zlib.error:
        raise FetchError("the server sent a damaged compressed page") from None
    if len(inflated) > max_bytes:
        raise FetchError(f"it is larger than the {megabytes(max_bytes)} limit once decompressed")
    return inflated


def _explain(exc: HTTPError, target: Target, policy: FetchPolicy) -> str:
    """One clause for what went wrong on the wire (no internals, no traceback)."""
    if isinstance(exc, MaxRetryError) and isinstance(exc.reason, HTTPError):
        exc = exc.reason
    host = target.host
    if isinstance(exc, SSLError):
        return f"the TLS certificate of {host} could not be verified"
    if isinstance(exc, NewConnectionError):  # (a subclass of ConnectTimeoutError in urllib3 2)
        return f"could not connect to {host} (the connection was refused or the host is unreachable)"
    if isinstance(exc, ConnectTimeoutError | ReadTimeoutError):
        return f"{host} did not send the page within {policy.timeout:g} s"
    if isinstance(exc, ProtocolError):
        return f"the connection to {host} broke off before the page was complete"
    return f"the download from {host} failed ({type(exc).__name__})"
