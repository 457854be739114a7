"""Real local servers on 127.0.0.1 for delivery tests: a webhook receiver (HTTP) and a mail server (SMTP)."""
import socket
import socketserver
import threading
from contextlib import contextmanager
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def http_server(handler: type[BaseHTTPRequestHandler]):
    """Serve ``handler`` on a free port of 127.0.0.1 in a thread; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def webhook_receiver(answers: list[int], on_received=None):
    """Answers each POST with the next status code from ``answers`` (the last one repeats); records every request;
    ``on_received()`` runs once a request is recorded, before it is answered (a drill kills the sender there)."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append({"headers": dict(self.headers), "body": body, "path": self.path})
            if on_received is not None:
                on_received()
            code = answers[min(len(received) - 1, len(answers) - 1)]
            self.send_response(code)
            self.end_headers()
            self.wfile.write(b"ok" if code < 300 else b"try later")

        def log_message(self, *args):
            pass

    with http_server(Handler) as base:
        yield f"{base}/hooks/ac", received


@contextmanager
def smtp_server(port: int, after_accept=None):
    """A minimal SMTP server (enough for smtplib / Django's SMTP backend); yields the parsed messages it accepted;
    ``after_accept()`` runs once a message is accepted (a drill kills the sender there)."""
    messages = []

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            self.wfile.write(b"220 localhost test SMTP\r\n")
            while line := self.rfile.readline():
                verb = line.strip().split(b" ", 1)[0].upper()
                if verb in (b"EHLO", b"HELO"):
                    self.wfile.write(b"250-localhost\r\n250 8BITMIME\r\n")
                elif verb == b"DATA":
                    self.wfile.write(b"354 go ahead\r\n")
                    data = b""
                    while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                        data += chunk[1:] if chunk.startswith(b"..") else chunk
                    messages.append(message_from_bytes(data))
                    self.wfile.write(b"250 queued\r\n")
                    self.wfile.flush()
                    if after_accept is not None:
                        after_accept()
                elif verb == b"QUIT":
                    self.wfile.write(b"221 bye\r\n")
                    return
                else:
                    self.wfile.write(b"250 ok\r\n")

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    server = socketserver.ThreadingTCPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield messages
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def transparency_database(fail_first: int = 0, token: str = "tdb-token"):
    """A stand-in for the DSA Transparency Database's ``POST /api/v1/statements``: checks the Bearer token, applies
    the statement rules (``compliance.dsa_rules``, written from the upstream API) to each statement and answers
    201 with a uuid per statement, or 422 with ``errors.statement_<index>``; the first ``fail_first`` calls get 503."""
    import json
    import uuid

    from anticounterfeit.compliance import dsa_rules

    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, code: int, body: dict):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):  # noqa: N802 - http.server's naming
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            received.append({"headers": dict(self.headers), "body": body})
            if len(received) <= fail_first:
                return self._answer(503, {"message": "maintenance"})
            if self.headers.get("Authorization") != f"Bearer {token}":
                return self._answer(401, {"message": "Unauthenticated."})
            statements = body.get("statements") or []
            if not 1 <= len(statements) <= 100:
                return self._answer(422, {"errors": {"statements": ["1 to 100 statements"]}})
            errors = {f"statement_{i}": {e.field: [e.message] for e in dsa_rules.validate(s)}
                      for i, s in enumerate(statements) if dsa_rules.validate(s)}
            if errors:
                return self._answer(422, {"message": "invalid statements", "errors": errors})
            self._answer(201, {"statements": [{**s, "uuid": str(uuid.uuid4())} for s in statements]})

        def log_message(self, *args):
            pass

    with http_server(Handler) as base:
        yield f"{base}/api/v1/statements", received
