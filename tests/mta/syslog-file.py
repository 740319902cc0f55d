#!/usr/bin/python3
"""A private syslog for one test-bed instance: receives on a Unix datagram socket (bound over
/dev/log in the instance's own mount namespace, mta-instance.sh) and appends each message to
a file as rsyslog's traditional file format writes it: `Mmm dd hh:mm:ss HOST TAG: MSG`.

    tests/mta/syslog-file.py SOCKET FILE HOST

glibc's syslog(3) sends `<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG` with no host (RFC 3164 as
a local socket carries it); the host is added here, as a syslog daemon does. Runs until
killed; nothing leaves the machine (a Unix socket only)."""

import os
import re
import socket
import sys

sock_path, file_path, host = sys.argv[1:4]
# <PRI> then the 15-character RFC 3164 timestamp, then the rest.
LINE = re.compile(rb"^<\d{1,3}>([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) ?(.*)$", re.S)

if os.path.exists(sock_path):
    os.unlink(sock_path)
server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
server.bind(sock_path)
os.chmod(sock_path, 0o666)
with open(file_path, "ab", buffering=0) as out:
    while True:
        data = server.recv(65536).rstrip(b"\0\n")
        match = LINE.match(data)
        if match:
            stamp, rest = match.groups()
            data = stamp + b" " + host.encode() + b" " + rest
        out.write(data.replace(b"\n", b" ") + b"\n")
