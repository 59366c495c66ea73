"""A real HTTP server in a thread for the HTTP Task's tests (stepfunctions.integrations.http):
it records what it received (method, path, headers, body) and answers by path. It never echoes
a request's headers, so a secret found in an execution's output would have leaked elsewhere."""

import base64
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

OAUTH_CLIENT = ("test-client", "client-secret-0a9b8c")
OAUTH_TOKEN = "oauth-access-token-7d6e5f"


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class LocalServer:
    url: str
    port: int
    received: list[Received] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def last(self, path: str) -> Received:
        return [request for request in self.received if urlsplit(request.path).path == path][-1]


def _handler(server: LocalServer):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def _answer(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, status: int, value) -> None:
            self._answer(status, json.dumps(value).encode(), "application/json")

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            server.received.append(Received(self.command, self.path, dict(self.headers), body))
            parts = urlsplit(self.path)
            path, query = parts.path, parse_qs(parts.query)
            server.counts[path] = server.counts.get(path, 0) + 1
            if path == "/echo":
                self._json(200, {"method": self.command, "path": path, "greeting": "hello"})
            elif path.startswith("/status/"):
                self._json(int(path.rsplit("/", 1)[1]), {"message": "as asked"})
            elif path == "/flaky":  # 503 twice, then 200
                ok = server.counts[path] > 2
                self._json(200 if ok else 503, {"attempt": server.counts[path]})
            elif path == "/slow":
                time.sleep(float(query.get("seconds", ["3"])[0]))
                self._json(200, {"slow": True})
            elif path == "/text":
                self._answer(200, "plain café".encode(), "text/plain; charset=utf-8")
            elif path == "/large":
                self._answer(200, b"x" * 300_000, "text/plain")
            elif path == "/redirect":
                self._answer(302, b"", "text/plain", Location=query["to"][0])
            elif path == "/token":
                self._token(body)
            else:
                self._json(404, {"message": "no such path"})

        def _token(self, body: bytes) -> None:
            expected = "Basic " + base64.b64encode(":".join(OAUTH_CLIENT).encode()).decode()
            form = parse_qs(body.decode())
            if self.headers.get("Authorization") != expected or form.get("grant_type") != [
                "client_credentials"
            ]:
                self._json(401, {"error": "invalid_client"})
                return
            self._json(
                200, {"access_token": OAUTH_TOKEN, "token_type": "Bearer", "expires_in": 3600}
            )

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle

    return Handler


@contextlib.contextmanager
def local_server() -> Iterator[LocalServer]:
    """The server on 127.0.0.1 and a free port, serving in a thread until the block ends."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    httpd.daemon_threads = True
    port = httpd.server_address[1]
    server = LocalServer(url=f"http://127.0.0.1:{port}", port=port)
    httpd.RequestHandlerClass = _handler(server)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
