#!/usr/bin/env python3
"""kafka_check.py - compare the Kafka messages of a topic with the rows of a store table.

Reads kcat output produced with   kcat -C ... -e -f '%h\\n%K:%k%S:%s'
(headers line, then length-prefixed key and value, so binary Avro values survive) from
stdin, decodes every value (JSON, or Confluent-framed Avro checked against --schema and
--schema-id) and checks it against the SQLite table: one message per stored row, keys
unique, every column equal, envelope fields sane. Prints "name value" lines:
  messages N / unique_keys N / store_rows N / missing N / mismatches N / bad_envelope N
  / schema_ids LIST / headers_ok N
Python avro (python3-avro) is needed for --format avro only.
"""
import argparse
import datetime
import io
import json
import re
import sqlite3
import struct
import sys
import uuid

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def read_messages(data):
    pos, out = 0, []
    while pos < len(data):
        nl = data.index(b"\n", pos)
        headers = data[pos:nl].decode()
        pos = nl + 1
        c = data.index(b":", pos)
        klen = int(data[pos:c])
        pos = c + 1
        key = data[pos:pos + max(klen, 0)]
        pos += max(klen, 0)
        c = data.index(b":", pos)
        vlen = int(data[pos:c])
        pos = c + 1
        val = data[pos:pos + max(vlen, 0)]
        pos += max(vlen, 0)
        out.append((headers, key.decode(), val))
    return out


def to_micros(v):
    """store text / datetime / int -> microseconds since the epoch"""
    if v is None:
        return None
    if isinstance(v, datetime.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=datetime.timezone.utc)
        d = v - EPOCH
        return (d.days * 86400 + d.seconds) * 1000000 + d.microseconds
    if isinstance(v, int):
        return v
    m = re.match(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?Z$", v)
    if not m:
        raise ValueError("not a UTC time: %r" % v)
    dt = datetime.datetime(*map(int, m.groups()[:6]), tzinfo=datetime.timezone.utc)
    us = int((m.group(7) or "0").ljust(6, "0"))
    return to_micros(dt) + us


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--table", required=True)
    ap.add_argument("--key", required=True, help="comma-separated key columns in key order")
    ap.add_argument("--time-cols", default="", help="comma-separated columns holding times")
    ap.add_argument("--format", choices=["json", "avro"], default="json")
    ap.add_argument("--schema", help=".avsc to decode with (avro)")
    ap.add_argument("--tenant", default="default")
    ap.add_argument("--source", default="")
    ap.add_argument("--latest", action="store_true",
                    help="compare only the last message of each key (topics with updates)")
    ap.add_argument("--cursor", default="", help="column that occurred_at must equal")
    a = ap.parse_args()
    keycols = a.key.split(",")
    timecols = set(filter(None, a.time_cols.split(",")))

    db = sqlite3.connect(a.db)
    cur = db.execute("select * from %s" % a.table)
    cols = [d[0] for d in cur.description]
    rows = {}
    for r in cur.fetchall():
        row = dict(zip(cols, r))
        rows[json.dumps([row[k] for k in keycols], separators=(",", ":"))] = row

    msgs = read_messages(sys.stdin.buffer.read())
    reader = None
    if a.format == "avro":
        import avro.io
        import avro.schema
        reader = avro.io.DatumReader(avro.schema.parse(open(a.schema).read()))

    if a.latest:
        last = {}
        for i, m in enumerate(msgs):
            last[m[1]] = i
    seen, ids = {}, set()
    mismatches = bad_env = headers_ok = 0
    event_ids = {}
    for i, (headers, key, val) in enumerate(msgs):
        if a.format == "avro":
            if len(val) < 5 or val[0] != 0:
                bad_env += 1
                continue
            ids.add(struct.unpack(">I", val[1:5])[0])
            v = reader.read(avro.io.BinaryDecoder(io.BytesIO(val[5:])))
        else:
            v = json.loads(val)
        seen[key] = seen.get(key, 0) + 1
        h = dict(x.split("=", 1) for x in headers.split(",") if "=" in x)
        if h.get("schema_version") == str(v.get("schema_version")) and (not a.source or h.get("source") == a.source):
            headers_ok += 1
        try:
            u = uuid.UUID(v["event_id"])
            ok_env = (u.version == 5 and v["tenant_id"] == a.tenant and v["producer"].startswith("aurum/")
                      and isinstance(v["schema_version"], int))
        except (KeyError, ValueError, AttributeError):
            ok_env = False
        if event_ids.setdefault(v.get("event_id"), key) != key:
            ok_env = False  # one event id per key, different keys never share one
        row = rows.get(key)
        if a.latest and last[key] != i:
            continue
        if row is None:
            mismatches += 1
            print("unknown key %s" % key, file=sys.stderr)
            continue
        if a.cursor and to_micros(v.get("occurred_at")) != to_micros(row[a.cursor]):
            ok_env = False
        bad_env += 0 if ok_env else 1
        for c in cols:
            sv, mv = row[c], v.get(c, "<absent>")
            if c in timecols:
                equal = to_micros(sv) == to_micros(mv)
            elif isinstance(sv, float) or isinstance(mv, float):
                equal = sv is not None and mv is not None and float(sv) == float(mv)
            else:
                equal = sv == mv
            if not equal:
                mismatches += 1
                print("key %s column %s: store %r, message %r" % (key, c, sv, mv), file=sys.stderr)
                break
    print("messages %d" % len(msgs))
    print("unique_keys %d" % len(seen))
    print("duplicates %d" % sum(n - 1 for n in seen.values()))
    print("store_rows %d" % len(rows))
    print("missing %d" % len([k for k in rows if k not in seen]))
    print("mismatches %d" % mismatches)
    print("bad_envelope %d" % bad_env)
    print("headers_ok %d" % headers_ok)
    print("schema_ids %s" % ",".join(str(i) for i in sorted(ids)))


if __name__ == "__main__":
    main()
