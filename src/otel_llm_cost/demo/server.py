"""A local OpenAI- and Anthropic-compatible server, so the demo runs with no API key and no network.

It answers ``POST /v1/chat/completions``, ``/v1/responses``, ``/v1/embeddings`` (OpenAI's format) and
``/v1/messages`` (Anthropic's), streamed or not, deterministically: replies come from a short script
(:mod:`otel_llm_cost.demo._script`), usage blocks are realistic (cached tokens on repeated prompts,
reasoning tokens for "o"-style models, cache reads and writes at Anthropic ``cache_control`` breakpoints)
and the response model is the requested one, so prices can be looked up.

Example::

    with DemoServer() as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="demo")
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])

Or from a shell, until Ctrl-C::

    python -m otel_llm_cost.demo.server --port 8787
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from otel_llm_cost.demo._chat import chat_completions
from otel_llm_cost.demo._embeddings import embeddings
from otel_llm_cost.demo._messages import messages
from otel_llm_cost.demo._responses import responses
from otel_llm_cost.demo._wire import BadRequest, JsonReply, Reply, Session, StreamReply

Endpoint = Callable[[Mapping[str, Any], Session], Reply]

_OPENAI_ROUTES: dict[str, Endpoint] = {
    "/v1/chat/completions": chat_completions,
    "/v1/responses": responses,
    "/v1/embeddings": embeddings,
}
_ANTHROPIC_ROUTES: dict[str, Endpoint] = {"/v1/messages": messages}


class DemoServer:
    """The demo server, run in a background thread; a context manager.

    Args:
        host: address to bind; loopback only, by design.
        port: port to bind; 0 picks a free one.
        first_token_delay: seconds before the first byte of an answer (time to first token).
        chunk_delay: seconds between streamed chunks (a non-streamed answer waits as long in total).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        first_token_delay: float = 0.08,
        chunk_delay: float = 0.015,
    ) -> None:
        self.first_token_delay = first_token_delay
        self.chunk_delay = chunk_delay
        self.session = Session()
        self._httpd = _Server((host, port), _Handler)
        self._httpd.demo = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """Base URL for the ``openai`` SDK (ends in ``/v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_base_url(self) -> str:
        """Base URL for the ``anthropic`` SDK (which appends ``/v1/messages`` itself)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DemoServer:
        """Serve in a daemon thread; returns self."""
        if self._thread is None:
            # A short poll interval: stop() waits for the serving loop to notice, up to one interval.
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, args=(0.05,), name="otel-llm-cost-demo", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted."""
        try:
            self._httpd.serve_forever()
        finally:
            self._httpd.server_close()

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    # Handler threads must not keep the process alive nor make close() wait on idle keep-alive sockets.
    daemon_threads = True
    block_on_close = False
    demo: DemoServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that stops reading a stream early (an abandoned stream) is normal, not a server error.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, and chunked transfer for streams
    server_version = "otel-llm-cost-demo"
    timeout = 60  # an idle keep-alive connection is dropped after this many seconds
    server: _Server

    def do_POST(self) -> None:
        path = urlsplit(self.path).path.rstrip("/")
        endpoint = _OPENAI_ROUTES.get(path) or _ANTHROPIC_ROUTES.get(path)
        anthropic = path in _ANTHROPIC_ROUTES
        body = self._read_body()
        if endpoint is None:
            self._send_json(404, _error(f"unknown path {path}", "not_found_error", anthropic))
            return
        try:
            if not isinstance(body, Mapping):
                raise BadRequest("the request body must be a JSON object")
            reply = endpoint(body, self.server.demo.session)
        except BadRequest as error:
            self._send_json(400, _error(str(error), "invalid_request_error", anthropic))
            return
        self._send_reply(reply, anthropic)

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def _send_reply(self, reply: Reply, anthropic: bool) -> None:
        demo = self.server.demo
        if isinstance(reply, JsonReply):
            time.sleep(demo.first_token_delay + demo.chunk_delay * reply.chunks)
            self._send_json(200, reply.body, anthropic)
            return
        self._send_stream(reply, demo, anthropic)

    def _send_stream(self, reply: StreamReply, demo: DemoServer, anthropic: bool) -> None:
        time.sleep(demo.first_token_delay)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self._send_request_id(anthropic)
        self.end_headers()
        for index, event in enumerate(reply.events):
            if index and demo.chunk_delay:
                time.sleep(demo.chunk_delay)
            data = event.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def _send_json(self, status: int, body: Mapping[str, Any], anthropic: bool = False) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self._send_request_id(anthropic)
        self.end_headers()
        self.wfile.write(data)

    def _send_request_id(self, anthropic: bool) -> None:
        request_id = self.server.demo.session.new_id("req_")
        self.send_header("request-id" if anthropic else "x-request-id", request_id)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the demo's output is the cost table, not an access log


def _error(message: str, kind: str, anthropic: bool) -> dict[str, Any]:
    if anthropic:
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def main(argv: list[str] | None = None) -> int:
    """``python -m otel_llm_cost.demo.server``: serve until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m otel_llm_cost.demo.server", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--port", type=int, default=8787, help="port on 127.0.0.1 (default 8787; 0: any free port)"
    )
    parser.add_argument(
        "--first-token-delay", type=float, default=0.08, help="seconds before the first token"
    )
    parser.add_argument("--chunk-delay", type=float, default=0.015, help="seconds between streamed chunks")
    args = parser.parse_args(argv)
    server = DemoServer(
        port=args.port, first_token_delay=args.first_token_delay, chunk_delay=args.chunk_delay
    )
    print(f"otel-llm-cost demo server: OPENAI_BASE_URL={server.base_url}", end=" ")
    print(f"ANTHROPIC_BASE_URL={server.anthropic_base_url}")
    print("Any API key works (e.g. 'demo'). Ctrl-C to stop.", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
