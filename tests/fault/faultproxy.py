#!/usr/bin/env python3
"""tests/fault/faultproxy.py -- an HTTP proxy that injects faults between
artifactfs and a real S3 server (moto or Swift), for the fault scenarios.

    faultproxy.py UPSTREAM_URL PORT_FILE

listens on 127.0.0.1 (a free port, written to PORT_FILE once it listens)
and forwards every request to UPSTREAM_URL byte for byte, Host header
included, so SigV4 signatures still verify upstream.  Until told otherwise
it changes nothing.

Control (never forwarded):
    GET /__fault__/set?mode=M[&count=N][&method=GET][&path=SUB][&arg=X]
        the next N matching requests (0: all, until cleared) get mode M:
          stall     read the request, never answer (the connection stays
                    open until the client gives up or the fault is cleared)
          status    answer HTTP arg (default 503, with an S3 SlowDown
                    error body) without asking upstream
          delay     wait arg milliseconds, then forward
          reset     forward, then close the connection after arg bytes of
                    the answer's body (default half of it)
          flip      forward, with one byte of the body (at offset arg,
                    default the middle) changed
        and, as a hostile server (answers a real one never gives):
          list-loop     a listing answer says it is truncated and hands
                        back the continuation token it was sent (or
                        "loop" when none), so a client that trusts it
                        never ends
          list-inject   a listing answer gains an entry with key arg (a
                        short key outside the prefix, a "..", a
                        duplicate, ...), in front of the others
          garbage       answer 200 with arg bytes (default 4096) of
                        random bytes as the body
          huge-header   forward, adding a header of arg bytes (default
                        1 MiB)
    GET /__fault__/clear       back to forwarding everything
    GET /__fault__/count       how many requests each mode has hit so far
One rule at a time; setting one replaces the last.  Stdlib only.
"""
import http.client
import http.server
import json
import os
import socket
import socketserver
import sys
import threading
import time
import urllib.parse

UPSTREAM = urllib.parse.urlsplit(sys.argv[1])
PORT_FILE = sys.argv[2]

LOCK = threading.Lock()
CLEARED = threading.Condition(LOCK)
RULE = {}        # mode, count, method, path, arg
HITS = {}        # mode -> times applied
GENERATION = [0]  # bumped by clear, to end stalls


def take_rule(method, path):
    """The mode (and arg) to apply to this request, counting it."""
    with LOCK:
        r = RULE
        if not r:
            return None, None
        if r.get("method") and r["method"] != method:
            return None, None
        if r.get("path") and r["path"] not in path:
            return None, None
        if r["count"] > 0:
            r["count"] -= 1
            if r["count"] == 0:
                rule = dict(r)
                RULE.clear()
                r = rule
        HITS[r["mode"]] = HITS.get(r["mode"], 0) + 1
        return r["mode"], r.get("arg")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet; errors still go to stderr
        pass

    def control(self):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        body = b"ok\n"
        with LOCK:
            if u.path == "/__fault__/set":
                RULE.clear()
                RULE.update(mode=q["mode"], count=int(q.get("count", "0")),
                            method=q.get("method"), path=q.get("path"),
                            arg=q.get("arg"))
            elif u.path == "/__fault__/clear":
                RULE.clear()
                GENERATION[0] += 1
                CLEARED.notify_all()
            elif u.path == "/__fault__/count":
                body = (json.dumps(HITS) + "\n").encode()
            else:
                body = b"unknown control\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def forward(self, body):
        conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port,
                                          timeout=300)
        conn.putrequest(self.command, self.path, skip_host=True,
                        skip_accept_encoding=True)
        for k, v in self.headers.items():
            conn.putheader(k, v)
        conn.endheaders()
        if body:
            conn.send(body)
        resp = conn.getresponse()
        data = resp.read()
        headers = resp.getheaders()
        conn.close()
        return resp.status, resp.reason, headers, data

    def answer(self, status, reason, headers, data, cut=None):
        self.send_response_only(status, reason)
        has_len = False
        for k, v in headers:
            kl = k.lower()
            if kl in ("transfer-encoding", "connection"):
                continue
            if kl == "content-length":
                has_len = True
            self.send_header(k, v)
        if not has_len:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if cut is not None:
            self.wfile.write(data[:cut])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(data)

    def handle_any(self):
        if self.path.startswith("/__fault__/"):
            self.control()
            return
        body = self.read_body()
        mode, arg = take_rule(self.command, self.path)
        if mode == "stall":
            with LOCK:
                gen = GENERATION[0]
                while GENERATION[0] == gen:
                    if not CLEARED.wait(timeout=1.0):
                        # the client may have given up: stop when it has
                        try:
                            self.connection.setblocking(False)
                            if self.connection.recv(1, socket.MSG_PEEK) == b"":
                                break
                        except BlockingIOError:
                            pass
                        except OSError:
                            break
                        finally:
                            self.connection.setblocking(True)
            self.close_connection = True
            return
        if mode == "status":
            code = int(arg or 503)
            data = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
                    b"<Code>SlowDown</Code><Message>injected</Message>"
                    b"</Error>")
            self.answer(code, "Injected", [("Content-Type",
                                           "application/xml")], data)
            return
        if mode == "delay":
            time.sleep(int(arg or 1000) / 1000.0)
        if mode == "garbage":
            junk = os.urandom(int(arg or 4096))
            self.answer(200, "OK", [("Content-Type", "application/xml")],
                        junk)
            return
        status, reason, headers, data = self.forward(body)
        if mode == "list-loop" and b"<ListBucketResult" in data:
            q = dict(urllib.parse.parse_qsl(
                urllib.parse.urlsplit(self.path).query))
            tok = q.get("continuation-token", "loop")
            data = data.replace(b"<IsTruncated>false</IsTruncated>",
                                b"<IsTruncated>true</IsTruncated>")
            if b"<NextContinuationToken>" not in data:
                data = data.replace(
                    b"</ListBucketResult>",
                    b"<NextContinuationToken>" + tok.encode() +
                    b"</NextContinuationToken></ListBucketResult>")
            headers = [(k, v) for k, v in headers
                       if k.lower() != "content-length"]
        if mode == "list-inject" and b"<ListBucketResult" in data:
            key = (arg or "x").encode()
            entry = (b"<Contents><Key>" + key + b"</Key><Size>1</Size>"
                     b"<ETag>&quot;e&quot;</ETag><LastModified>"
                     b"2026-01-01T00:00:00.000Z</LastModified></Contents>")
            at = data.find(b"<Contents>")
            if at < 0:
                at = data.find(b"</ListBucketResult>")
            data = data[:at] + entry + data[at:]
            headers = [(k, v) for k, v in headers
                       if k.lower() != "content-length"]
        if mode == "huge-header":
            headers = list(headers) + [("x-amz-meta-huge",
                                        "h" * int(arg or (1 << 20)))]
        if mode == "reset" and data:
            self.answer(status, reason, headers, data,
                        cut=int(arg) if arg else len(data) // 2)
            return
        if mode == "flip" and data:
            at = int(arg) if arg else len(data) // 2
            at = min(at, len(data) - 1)
            data = data[:at] + bytes([data[at] ^ 0x20]) + data[at + 1:]
        self.answer(status, reason, headers, data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    with open(PORT_FILE + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(PORT_FILE + ".tmp", PORT_FILE)
    srv.serve_forever()


if __name__ == "__main__":
    main()
