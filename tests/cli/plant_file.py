#!/usr/bin/env python3
"""plant_file.py ROOT KEY CONTENT [NAME=VALUE,...] -- write an object
straight into a file:// store, bypassing every check, so tests can plant
keys and metadata the artifact tool would never create (an empty segment,
"..", a setuid mode, a symbolic link leading out).  The optional last
argument is the user metadata (x-amz-meta-NAME), as aws s3api's
--metadata takes it.  Follows the layout written
at the top of remote/file.c: segments escaped ('%', '~', control bytes and
a leading '.' as %XX, an empty segment as "%"), the last one with a
trailing '~', and the object file "AFSOBJ01" + u64le header length + JSON
header + data."""
import hashlib
import json
import os
import struct
import sys


def esc(seg):
    """Escape one ASCII segment as file.c does."""
    if seg == "":
        return "%"
    out = []
    for i, c in enumerate(seg):
        if c in "%~" or ord(c) < 0x20 or ord(c) == 0x7F or (i == 0 and c == "."):
            out.append("%%%02X" % ord(c))
        else:
            out.append(c)
    return "".join(out)


def main():
    root, key, content = sys.argv[1], sys.argv[2], os.fsencode(sys.argv[3])
    meta = {}
    if len(sys.argv) > 4 and sys.argv[4]:
        meta = dict(kv.split("=", 1) for kv in sys.argv[4].split(","))
    segs = key.split("/")
    path = os.path.join(root, *[esc(s) for s in segs[:-1]], esc(segs[-1]) + "~")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    hdr = json.dumps({"etag": hashlib.md5(content).hexdigest(),
                      "content_type": "application/octet-stream",
                      "meta": meta}).encode()
    with open(path, "wb") as f:
        f.write(b"AFSOBJ01" + struct.pack("<Q", len(hdr)) + hdr + content)


main()
