"""The HTTP session pynautobot and pynetbox are handed: every answer bounded in time and size, and
no request leaves the server the user named.

Why: a source of truth is a server we read, not one we trust.  The client libraries read a whole
answer into memory and follow the ``next`` link of each page wherever it points; here an answer
over ``max_bytes`` is refused, each request has a connect/read timeout, the number of requests
(pages) is capped, and a ``next`` link to another scheme, host or port is refused rather than
followed (it would carry our token there).  The whole read also runs under one deadline
(``fetch_with_deadline``): a server dripping a byte per second cannot hold a scan for hours.
"""
from __future__ import annotations

import threading
from urllib.parse import urlsplit

import requests


class SourceError(ValueError):
    """A source-of-truth server's answer could not be used; the message names the server."""


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80)


class BoundedSession(requests.Session):
    def __init__(self, base_url: str, timeout: float = 30.0, max_bytes: int = 64 << 20, max_requests: int = 2000):
        super().__init__()
        self.origin = _origin(base_url)
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_requests = max_requests
        self.requests_made = 0
        self.trust_env = False  # no proxy from the environment: the token goes only where the user said

    def request(self, method, url, **kwargs):  # noqa: D401 - requests' signature
        if _origin(url) != self.origin:
            raise SourceError(f"the server pointed us at {url!r}, outside {self.origin[0]}://{self.origin[1]}:"
                              f"{self.origin[2]}: not followed (it would carry the token there)")
        self.requests_made += 1
        if self.requests_made > self.max_requests:
            raise SourceError(f"more than {self.max_requests} requests (pages) for one read: refused")
        kwargs.setdefault("timeout", self.timeout)
        kwargs["stream"] = True
        kwargs["allow_redirects"] = False
        try:
            resp = super().request(method, url, **kwargs)
        except requests.RequestException as exc:
            raise SourceError(f"{method} {url}: {exc.__class__.__name__}: {exc}") from None
        try:
            body = resp.raw.read(self.max_bytes + 1, decode_content=True)
        except Exception as exc:  # noqa: BLE001 - urllib3's read errors have no common base worth naming
            raise SourceError(f"{method} {url}: the answer broke off: {exc.__class__.__name__}") from None
        finally:
            resp.close()
        if len(body) > self.max_bytes:
            raise SourceError(f"{method} {url}: an answer of more than {self.max_bytes} bytes: refused")
        resp._content = body
        resp._content_consumed = True
        return resp


def fetch_with_deadline(fn, deadline: float, what: str):
    """``fn()`` in a daemon thread, its result or exception; SourceError when it has not finished
    within ``deadline`` seconds (the thread is left to die with the process: nothing it holds is
    bigger than one bounded answer)."""
    box: dict = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=run, name="sot-fetch", daemon=True)
    worker.start()
    worker.join(deadline)
    if worker.is_alive():
        raise SourceError(f"{what}: no complete answer within {deadline:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]
