"""Replay recorded (or scripted) provider HTTP traffic from a loopback server.

Tests point the real ``openai`` / ``anthropic`` SDKs at ``ReplayServer.base_url`` so the whole client stack
(httpx or httpx2, SSE decoding, error mapping) runs against real provider bytes.

    with ReplayServer(load("traceloop+openllmetry/.../test_chat.yaml")) as srv:
        OpenAI(base_url=srv.base_url, api_key="test", max_retries=0).chat.completions.create(...)
        assert srv.requests[0].json()["model"] == "gpt-3.5-turbo"

Formats read by `load`:
- vcrpy YAML; bodies plain or ``!!binary`` (gzip is decoded here, so the server serves plain bodies).
- openinference JS JSON (``{"status", "headers", "body"}``) and Java JSON (a bare response body); neither
  holds the request, so the path is inferred from the body and `Interaction.request_json` is ``None``.

Matching: a request takes the first pending interaction with the same method and endpoint, where the endpoint
is the path without query and without a base prefix (``/v1``, ``/openai/deployments/<name>``, ``/openai/v1``,
``/api/v1``, ``/beta``). Scripted interactions built without a path match any request.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import selectors
import socket
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import yaml

CASSETTES = Path(__file__).parent / "cassettes"
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_PREFIX = re.compile(r"^/(?:openai/deployments/[^/]+/|openai/v1/|openai/|api/v1/|v1/|beta/)")
# Hop-by-hop headers, and the length/encoding ones that no longer describe the decoded body.
_DROPPED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "content-encoding",
    }
)
_SSE_SPLIT = re.compile(rb"\r?\n\r?\n")


def endpoint(path: str) -> str:
    """The path without query and base prefix: ``/openai/deployments/x/embeddings`` -> ``embeddings``."""
    path = urllib.parse.urlsplit(path).path or "/"
    return _PREFIX.sub("", path, count=1).lstrip("/")


@dataclass(frozen=True)
class Interaction:
    """One request/response exchange, recorded or scripted.

    Attributes:
        method: HTTP method; ``None`` (with ``path`` ``None``) matches any request.
        path: recorded path without query, e.g. ``/v1/chat/completions``.
        status: HTTP status served.
        headers: response headers served, hop-by-hop and encoding headers already removed.
        body: plain (decoded) response body.
        query: recorded query string.
        request_body: recorded request body, ``None`` when the recording has none.
        host: recorded host, e.g. ``api.openai.com``.
        index: position in the recording file.
        events: for scripted SSE, the events to write (each one chunk); recorded SSE bodies are split here.
        on_event: called in the server thread with the event number before each SSE event is written, so a
            test can hold the stream at a point (e.g. wait on a ``threading.Event``).
        drop_after: close the connection after this many SSE events (or body bytes), leaving the body
            incomplete, to simulate a broken stream.
    """

    method: str | None
    path: str | None
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    query: str = ""
    request_body: bytes | None = None
    host: str = ""
    index: int = 0
    events: tuple[bytes, ...] | None = None
    on_event: Callable[[int], None] | None = field(default=None, compare=False)
    drop_after: int | None = None

    @property
    def endpoint(self) -> str | None:
        return None if self.path is None else endpoint(self.path)

    @property
    def content_type(self) -> str:
        return next((v for k, v in self.headers if k.lower() == "content-type"), "")

    @property
    def is_sse(self) -> bool:
        return self.content_type.startswith("text/event-stream")

    def request_json(self) -> Any:
        """The recorded request body parsed as JSON, or ``None`` when absent or not JSON."""
        return _json_or_none(self.request_body)

    def body_json(self) -> Any:
        return _json_or_none(self.body)

    def sse_events(self) -> tuple[bytes, ...]:
        """The SSE body as events, each with its blank-line terminator."""
        if self.events is not None:
            return self.events
        return split_sse(self.body)

    def sse_data(self) -> list[Any]:
        """The JSON ``data:`` payload of each SSE event (``[DONE]`` and non-JSON payloads skipped)."""
        out = []
        for event in self.sse_events():
            data = b"\n".join(line[5:].strip() for line in event.splitlines() if line.startswith(b"data:"))
            parsed = _json_or_none(data)
            if parsed is not None:
                out.append(parsed)
        return out

    def with_(self, **changes: Any) -> Interaction:
        """A copy with fields replaced (e.g. ``drop_after=3``)."""
        return replace(self, **changes)


def split_sse(body: bytes) -> tuple[bytes, ...]:
    events, start = [], 0
    for match in _SSE_SPLIT.finditer(body):
        events.append(body[start : match.end()])
        start = match.end()
    if body[start:].strip():
        events.append(body[start:])
    return tuple(events)


def _json_or_none(raw: bytes | None) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------- scripting


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None, *, path: str | None = None
) -> Interaction:
    """A scripted JSON response (e.g. a synthetic 429 error body)."""
    return _scripted(status, "application/json", json.dumps(body).encode(), headers, path)


def sse_response(
    events: Sequence[Any],
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    *,
    path: str | None = None,
    on_event: Callable[[int], None] | None = None,
    drop_after: int | None = None,
) -> Interaction:
    """A scripted SSE response; each item is a JSON-able ``data`` payload, or ``(event_name, payload)``,
    or ready-made ``bytes``/``str`` event text."""
    encoded = tuple(_sse_event(e) for e in events)
    base = _scripted(status, "text/event-stream", b"".join(encoded), headers, path)
    return base.with_(events=encoded, on_event=on_event, drop_after=drop_after)


def _sse_event(item: Any) -> bytes:
    if isinstance(item, bytes):
        return item
    if isinstance(item, str):
        return item.encode()
    name = None
    if isinstance(item, tuple):
        name, item = item
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {json.dumps(item)}\n\n".encode()


def _scripted(
    status: int, ctype: str, body: bytes, headers: Mapping[str, str] | None, path: str | None
) -> Interaction:
    merged = {"content-type": ctype, **(headers or {})}
    return Interaction(
        method=None if path is None else "POST",
        path=path,
        status=status,
        headers=tuple(merged.items()),
        body=body,
    )


# ---------------------------------------------------------------------------------------------- loading


def load(source: str | Path) -> list[Interaction]:
    """Load a recording (path absolute or relative to ``tests/cassettes``) into interactions, in order."""
    path = Path(source)
    if not path.is_absolute():
        path = CASSETTES / path
    raw = path.read_bytes()
    if path.suffix == ".json":
        return [_from_json_recording(json.loads(raw))]
    doc = yaml.load(raw, Loader=_YamlLoader)  # a safe loader, C-accelerated when available
    return [_from_vcr(i, item) for i, item in enumerate(doc["interactions"])]


def _from_vcr(index: int, item: Mapping[str, Any]) -> Interaction:
    request, response = item["request"], item["response"]
    url = urllib.parse.urlsplit(request["uri"])
    pairs = [(k, str(v)) for k, values in response["headers"].items() for v in _as_list(values)]
    body = _as_bytes(response["body"].get("string", b""))
    if any(k.lower() == "content-encoding" and "gzip" in v for k, v in pairs) and body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    req_body = request.get("body")
    return Interaction(
        method=request["method"].upper(),
        path=url.path,
        query=url.query,
        request_body=None if req_body is None else _as_bytes(req_body),
        host=url.netloc,
        status=int(response["status"]["code"]),
        headers=_clean_headers(pairs, body),
        body=body,
        index=index,
    )


def _from_json_recording(doc: Mapping[str, Any]) -> Interaction:
    if {"status", "body"} <= doc.keys():
        status, pairs, body = int(doc["status"]), list(doc.get("headers", {}).items()), doc["body"]
    else:
        status, pairs, body = 200, [], json.dumps(doc)
    data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    return Interaction(
        method="POST",
        path=_guess_path(data),
        status=status,
        headers=_clean_headers(pairs, data),
        body=data,
    )


def _guess_path(body: bytes) -> str:
    head = body[:400]
    if b"message_start" in head or b'"type":"message"' in head.replace(b" ", b"") or b"claude" in head:
        return "/v1/messages"
    if b"response.created" in head or b'"object":"response"' in head.replace(b" ", b""):
        return "/v1/responses"
    return "/v1/chat/completions"


def _clean_headers(pairs: Iterable[tuple[str, str]], body: bytes) -> tuple[tuple[str, str], ...]:
    kept = [(k, v) for k, v in pairs if k.lower() not in _DROPPED]
    if not any(k.lower() == "content-type" for k, _ in kept):
        kept.append(("content-type", _sniff_type(body)))
    return tuple(kept)


def _sniff_type(body: bytes) -> str:
    # openinference recordings drop response headers; the SDKs need the type to pick a decoder.
    stripped = body.lstrip()
    if stripped.startswith((b"event:", b"data:")):
        return "text/event-stream"
    return "application/json" if _json_or_none(body) is not None or not body else "application/octet-stream"


def _as_list(values: Any) -> list[Any]:
    return values if isinstance(values, list) else [values]


def _as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


# ---------------------------------------------------------------------------------------------- server


@dataclass(frozen=True)
class ReceivedRequest:
    """A request the server received."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes

    @property
    def endpoint(self) -> str:
        return endpoint(self.path)

    def json(self) -> Any:
        return _json_or_none(self.body)


class ReplayServer:
    """Loopback HTTP/1.1 server replaying interactions; a context manager.

    Args:
        interactions: interactions to serve, or a recording path for `load`.
        prefix: base path appended to `url` for `base_url` (``"/v1"``; ``""`` suits anthropic).

    Attributes:
        pending: interactions not served yet.
        requests: every request received, in order.
        unmatched: requests no pending interaction matched (answered 404).
        errors: exceptions raised while writing a response (e.g. the client hung up).
    """

    def __init__(self, interactions: Iterable[Interaction] | str | Path, *, prefix: str = "/v1") -> None:
        items = load(interactions) if isinstance(interactions, str | Path) else list(interactions)
        self.pending: list[Interaction] = items
        self.requests: list[ReceivedRequest] = []
        self.unmatched: list[ReceivedRequest] = []
        self.errors: list[BaseException] = []
        self.prefix = prefix
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._workers: list[threading.Thread] = []
        self._sock: socket.socket | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._acceptor: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._sock is not None, "server not started"
        host, port = self._sock.getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return self.url + self.prefix

    def start(self) -> ReplayServer:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._acceptor = threading.Thread(target=self._accept_loop, name="replay-accept", daemon=True)
        self._acceptor.start()
        return self

    def close(self) -> None:
        """Stop accepting, cut live connections, and join every thread. Idempotent."""
        if self._acceptor is None:
            return
        self._wake_w.send(b"x")
        self._acceptor.join()
        self._acceptor = None
        with self._lock:
            for conn in self._conns:
                _quiet_shutdown(conn)
        for worker in self._workers:
            worker.join()
        for sock in (self._sock, self._wake_r, self._wake_w):
            if sock is not None:
                sock.close()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept_loop(self) -> None:
        assert self._sock is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self._sock, selectors.EVENT_READ)
            sel.register(self._wake_r, selectors.EVENT_READ)
            while all(key.fileobj is not self._wake_r for key, _ in sel.select()):
                conn, addr = self._sock.accept()
                with self._lock:
                    self._conns.add(conn)
                worker = threading.Thread(
                    target=self._serve, args=(conn, addr), name="replay-conn", daemon=True
                )
                self._workers.append(worker)
                worker.start()

    def _serve(self, conn: socket.socket, addr: Any) -> None:
        try:
            _Handler(conn, addr, self)
        except Exception as exc:  # kept for the test to inspect, not printed from a thread
            self.errors.append(exc)
        finally:
            with self._lock:
                self._conns.discard(conn)
            conn.close()

    def _take(self, request: ReceivedRequest) -> Interaction | None:
        with self._lock:
            self.requests.append(request)
            key = request.endpoint
            for i, item in enumerate(self.pending):
                if item.path is None or (item.method == request.method and item.endpoint == key):
                    return self.pending.pop(i)
            self.unmatched.append(request)
            return None


def _quiet_shutdown(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ReplayServer  # type: ignore[assignment]

    def handle_one_request(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline or not self.parse_request():
            self.close_connection = True
            return
        url = urllib.parse.urlsplit(self.path)
        request = ReceivedRequest(
            method=self.command,
            path=url.path,
            query=url.query,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self._read_body(),
        )
        reply = self.server._take(request)
        # One exchange per connection: no idle keep-alive sockets to reap at shutdown.
        self.close_connection = True
        if reply is None:
            msg = json.dumps(
                {"error": {"message": f"replay: nothing recorded for {self.command} {url.path}"}}
            )
            reply = json_response(json.loads(msg), 404)
        _write(self, reply)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0], 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def log_message(self, format: str, *args: Any) -> None:
        return


def _write(handler: _Handler, reply: Interaction) -> None:
    handler.send_response_only(reply.status)
    for name, value in reply.headers:
        handler.send_header(name, value)
    stream = reply.is_sse or reply.events is not None
    if stream:
        handler.send_header("Transfer-Encoding", "chunked")
    else:
        handler.send_header("Content-Length", str(len(reply.body)))
    handler.send_header("Connection", "close")
    handler.end_headers()
    if stream:
        _write_events(handler, reply)
    elif reply.drop_after is not None:
        handler.wfile.write(reply.body[: reply.drop_after])
        _quiet_shutdown(handler.connection)
    else:
        handler.wfile.write(reply.body)


def _write_events(handler: _Handler, reply: Interaction) -> None:
    for i, event in enumerate(reply.sse_events()):
        if reply.drop_after is not None and i >= reply.drop_after:
            _quiet_shutdown(handler.connection)
            return
        if reply.on_event is not None:
            reply.on_event(i)
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
        handler.wfile.flush()
    if reply.drop_after is not None:
        _quiet_shutdown(handler.connection)
        return
    handler.wfile.write(b"0\r\n\r\n")
