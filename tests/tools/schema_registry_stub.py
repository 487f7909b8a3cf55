#!/usr/bin/env python3
"""schema_registry_stub.py - a tiny in-memory Confluent Schema Registry for tests.

Speaks the part of the REST API aurum uses (content type
application/vnd.schemaregistry.v1+json):
  POST /subjects/{subject}/versions   {"schema": "..."} -> {"id": N}
       (same schema text -> same id; ids increase from --first-id)
  POST /subjects/{subject}            -> {"subject","id","version","schema"} or 404 40403
  GET  /schemas/ids/{id}              -> {"schema": "..."} or 404 40403
  GET  /subjects                      -> ["subject", ...]
  GET  /subjects/{subject}/versions   -> [1, 2, ...]
  GET  /subjects/{subject}/versions/{n|latest}
Invalid JSON in "schema" -> 422 42201. Listens on 127.0.0.1 (port 0 = any free port) and
prints "listening on http://127.0.0.1:PORT" on stdout; stops on SIGTERM/SIGINT.
--fail N answers the next N registrations with HTTP 500 (error-path tests).
"""
import argparse
import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

CT = "application/vnd.schemaregistry.v1+json"


class Registry:
    def __init__(self, first_id):
        self.lock = threading.Lock()
        self.next_id = first_id
        self.by_text = {}  # schema text -> id
        self.by_id = {}  # id -> schema text
        self.subjects = {}  # subject -> [id, ...] (version n = index n-1)
        self.fail = 0

    def register(self, subject, text):
        with self.lock:
            sid = self.by_text.get(text)
            if sid is None:
                sid = self.next_id
                self.next_id += 1
                self.by_text[text] = sid
                self.by_id[sid] = text
            versions = self.subjects.setdefault(subject, [])
            if sid not in versions:
                versions.append(sid)
            return sid


class Handler(BaseHTTPRequestHandler):
    server_version = "schema-registry-stub/1"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("stub: " + fmt % args + "\n")

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", CT)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def not_found(self, code, msg):
        self.reply(404, {"error_code": code, "message": msg})

    def parts(self):
        return [unquote(p) for p in self.path.split("?")[0].strip("/").split("/")]

    def do_GET(self):
        reg = self.server.registry
        p = self.parts()
        if p == ["subjects"]:
            return self.reply(200, sorted(reg.subjects))
        if len(p) == 3 and p[:2] == ["schemas", "ids"] and p[2].isdigit():
            text = reg.by_id.get(int(p[2]))
            if text is None:
                return self.not_found(40403, "Schema not found")
            return self.reply(200, {"schema": text})
        if len(p) >= 3 and p[0] == "subjects" and p[2] == "versions":
            versions = reg.subjects.get(p[1])
            if versions is None:
                return self.not_found(40401, "Subject not found")
            if len(p) == 3:
                return self.reply(200, list(range(1, len(versions) + 1)))
            v = len(versions) if p[3] == "latest" else int(p[3]) if p[3].isdigit() else 0
            if not 1 <= v <= len(versions):
                return self.not_found(40402, "Version not found")
            sid = versions[v - 1]
            return self.reply(200, {"subject": p[1], "version": v, "id": sid, "schema": reg.by_id[sid]})
        return self.not_found(404, "not found")

    def do_POST(self):
        reg = self.server.registry
        p = self.parts()
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        try:
            text = json.loads(raw)["schema"]
            json.loads(text)
        except (ValueError, KeyError, TypeError):
            return self.reply(422, {"error_code": 42201, "message": "Invalid schema"})
        if len(p) == 3 and p[0] == "subjects" and p[2] == "versions":
            with reg.lock:
                if reg.fail > 0:
                    reg.fail -= 1
                    failing = True
                else:
                    failing = False
            if failing:
                return self.reply(500, {"error_code": 50001, "message": "injected failure"})
            return self.reply(200, {"id": reg.register(p[1], text)})
        if len(p) == 2 and p[0] == "subjects":
            versions = reg.subjects.get(p[1])
            if versions is None:
                return self.not_found(40401, "Subject not found")
            sid = reg.by_text.get(text)
            if sid is None or sid not in versions:
                return self.not_found(40403, "Schema not found")
            return self.reply(200, {"subject": p[1], "id": sid, "version": versions.index(sid) + 1, "schema": text})
        return self.not_found(404, "not found")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--first-id", type=int, default=1)
    ap.add_argument("--fail", type=int, default=0, help="answer the next N registrations with 500")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    srv.registry = Registry(a.first_id)
    srv.registry.fail = a.fail
    srv.verbose = a.verbose
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    print("listening on http://127.0.0.1:%d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
