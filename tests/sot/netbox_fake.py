"""A small HTTP server on 127.0.0.1 speaking the part of NetBox's documented REST API that ibagent
uses (devices, manufacturers, inventory items: paginated lists, filters, bulk create and update),
for the NetBox paths' tests.  NetBox itself is a Django application that is not on PyPI as a
server package, so it cannot be started here as Nautobot is; this is weaker than a real server
(docs/ARCHITECTURE.md says how): the shapes are NetBox's as documented, the behaviour is ours.

``mode`` makes it hostile: ``huge`` (a device list larger than the reader's cap), ``badjson``,
``elsewhere`` (a ``next`` link to another host), ``loop`` (``next`` forever), ``slow`` (a body that
drips), ``wrongtypes`` (fields of the wrong JSON type).
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TOKEN = "0123456789abcdef0123456789abcdef01234567"


def device(i: int, name: str, platform_slug: str | None, site: str, role: str, port: int | None = None,
           address: str | None = "127.0.0.1/32", status: str = "active", tags: tuple[str, ...] = ()) -> dict:
    """A device as NetBox 4's API shows it (nested objects brief: id, url, display, name, slug)."""
    def brief(kind, slug, label=None):
        return {"id": abs(hash((kind, slug))) % 10_000, "url": f"/api/{kind}/{slug}/", "display": label or slug,
                "name": label or slug, "slug": slug}
    return {
        "id": i, "url": f"/api/dcim/devices/{i}/", "display": name, "name": name,
        "device_type": brief("dcim/device-types", "c9300-24t", "C9300-24T"),
        "role": brief("dcim/device-roles", role),
        "platform": brief("dcim/platforms", platform_slug) if platform_slug else None,
        "site": brief("dcim/sites", site),
        "status": {"value": status, "label": status.title()},
        "primary_ip4": {"id": 1, "address": address, "family": {"value": 4}} if address else None,
        "primary_ip6": None, "primary_ip": {"id": 1, "address": address} if address else None,
        "tags": [{"id": 1, "name": t, "slug": t} for t in tags],
        "custom_fields": {"ssh_port": port} if port is not None else {},
    }


class FakeNetbox:
    def __init__(self, devices: list[dict], mode: str = "", page: int = 2):
        self.devices = devices
        self.mode = mode
        self.page = page
        self.items: dict[int, dict] = {}
        self.manufacturers: dict[int, dict] = {}
        self.requests: list[tuple[str, str]] = []
        self._next_id = 100
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                fake._handle(self, "GET")

            def do_POST(self):
                fake._handle(self, "POST")

            def do_PATCH(self):
                fake._handle(self, "PATCH")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    # -- the API -------------------------------------------------------------------------------
    def _send(self, h, status: int, body, raw: bytes | None = None):
        data = raw if raw is not None else json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("API-Version", "4.1")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if self.mode == "slow" and "/dcim/devices/" in h.path:
            for b in data:
                h.wfile.write(bytes([b]))
                h.wfile.flush()
                time.sleep(0.5)
            return
        h.wfile.write(data)

    def _page(self, h, rows: list[dict], query: dict, path: str):
        offset = int(query.get("offset", ["0"])[0])
        limit = int(query.get("limit", [str(self.page)])[0] or self.page) or self.page
        chunk = rows[offset:offset + limit]
        nxt = None
        if offset + limit < len(rows):
            nxt = f"{self.url}{path}?limit={limit}&offset={offset + limit}"
        if self.mode == "elsewhere":
            nxt = "http://other.invalid/api/dcim/devices/?offset=2"
        if self.mode == "loop":
            nxt = f"{self.url}{path}?limit={limit}&offset=0&again={time.monotonic_ns()}"
        self._send(h, 200, {"count": len(rows), "next": nxt, "previous": None, "results": chunk})

    def _handle(self, h, verb: str):
        parts = urlsplit(h.path)
        query = parse_qs(parts.query)
        self.requests.append((verb, h.path))
        if h.headers.get("Authorization") != f"Token {TOKEN}":
            return self._send(h, 403, {"detail": "Invalid token"})
        path = parts.path
        body = None
        if verb in ("POST", "PATCH"):
            body = json.loads(h.rfile.read(int(h.headers.get("Content-Length") or 0)) or b"null")
        if path == "/api/dcim/devices/" and verb == "GET":
            if self.mode == "badjson":
                return self._send(h, 200, None, raw=b'{"count": 1, "results": [')
            if self.mode == "huge":
                return self._send(h, 200, None, raw=b'{"count": 1, "results": [' + b" " * (70 << 20) + b"]}")
            try:
                rows = [d for d in self.devices if _matches(d, query)]
            except ValueError as exc:  # a filter NetBox lacks: the test sees a 400, as from a strict server
                return self._send(h, 400, {"detail": str(exc)})
            if self.mode == "wrongtypes":
                rows = [{"name": ["x"], "primary_ip4": "127.0.0.1"}, 7, {**rows[0], "custom_fields": {"ssh_port": "22"}}]
            return self._page(h, rows, query, path)
        if path == "/api/dcim/manufacturers/":
            if verb == "POST":
                self._next_id += 1
                self.manufacturers[self._next_id] = {"id": self._next_id, **body}
                return self._send(h, 201, self.manufacturers[self._next_id])
            rows = [m for m in self.manufacturers.values() if m["name"] in query.get("name", [m["name"]])]
            return self._page(h, rows, query, path)
        if path == "/api/dcim/inventory-items/":
            if verb == "POST":
                made = []
                for row in body if isinstance(body, list) else [body]:
                    self._next_id += 1
                    made.append(self._item(self._next_id, row))
                return self._send(h, 201, made if isinstance(body, list) else made[0])
            if verb == "PATCH":
                for row in body:
                    self.items[row["id"]].update({k: v for k, v in row.items() if k != "id"})
                return self._send(h, 200, [self.items[row["id"]] for row in body])
            wanted = {int(v) for v in query.get("device_id", [])}
            rows = [i for i in self.items.values() if not wanted or i["device"]["id"] in wanted]
            return self._page(h, rows, query, path)
        return self._send(h, 404, {"detail": "Not found."})

    def _item(self, new_id: int, row: dict) -> dict:
        dev = next(d for d in self.devices if d["id"] == row["device"])
        item = {"id": new_id, "url": f"/api/dcim/inventory-items/{new_id}/", "display": row["name"],
                "device": {"id": dev["id"], "name": dev["name"], "display": dev["name"]},
                "manufacturer": {"id": row.get("manufacturer"), "name": "Cisco", "slug": "cisco"},
                **{k: row.get(k, "") for k in ("name", "part_id", "serial", "description")},
                "discovered": bool(row.get("discovered"))}
        self.items[new_id] = item
        return item


def _matches(dev: dict, query: dict) -> bool:
    """NetBox's filters: site/role by slug, tag by slug, status by value, name exact (any of)."""
    checks = {
        "site": lambda v: dev["site"]["slug"] in v,
        "role": lambda v: dev["role"]["slug"] in v,
        "tag": lambda v: any(t["slug"] in v for t in dev["tags"]),
        "status": lambda v: dev["status"]["value"] in v,
        "name": lambda v: dev["name"] in v,
    }
    for key, values in query.items():
        if key in checks and not checks[key](values):
            return False
        if key not in checks and key not in ("limit", "offset", "brief", "again"):
            raise ValueError(f"unknown filter {key!r}")
    return True
