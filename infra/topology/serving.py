"""HTTP serving shared by the topology's servers (Runtime API, API Gateway front, CDN front)."""

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class QuietServer(ThreadingHTTPServer):
    """A threading server that does not report clients that went away (timed out, closed early,
    or a function process stopped before reading its last answer)."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def serve_in_background(handler, host="127.0.0.1", port=0):
    server = QuietServer((host, port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive, no per-request log, and the body read and written whole."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, status, headers, data):
        self.send_response(status)  # with Server and Date
        for k, v in headers:
            if k.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def __getattr__(self, name):
        # Every method reaches `any_method` (the front decides what an unknown one gets).
        if name.startswith("do_"):
            return self.any_method
        raise AttributeError(name)

    def any_method(self):
        self.reply(405, [], b"")
