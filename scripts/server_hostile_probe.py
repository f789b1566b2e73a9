#!/usr/bin/env python3
"""Two hostile clients against a running `faceid serve --no-auth` on 127.0.0.1:PORT.

1. Slowloris: 200 connections from 127.0.0.2 (another loopback address) each send one
   byte; then a /health probe from 127.0.0.1 is timed (given up after 60 s), and the slow
   connections that were answered 503 are counted.
2. Chunked body: POST /v1/detect with Transfer-Encoding: chunked, 64 KiB chunks, up to
   64 MiB, until the server answers; prints how much was sent and the status line.

  scripts/server_hostile_probe.py PORT
"""
import json
import socket
import sys
import time


def slowloris(port):
    slow = []
    for _ in range(200):
        s = socket.socket()
        s.bind(("127.0.0.2", 0))
        s.connect(("127.0.0.1", port))
        s.send(b"P")
        slow.append(s)
    time.sleep(0.5)
    start = time.monotonic()
    probe = socket.create_connection(("127.0.0.1", port))
    probe.settimeout(60)
    probe.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    try:
        status = probe.recv(200).split(b"\r\n")[0].decode()
    except socket.timeout:
        status = "no answer within 60 s"
    took = time.monotonic() - start
    refused = 0
    for s in slow:
        s.setblocking(False)
        try:
            refused += s.recv(100).startswith(b"HTTP/1.1 503")
        except OSError:
            pass
        s.close()
    return {"health_status": status, "health_seconds": round(took, 3), "slow_connections_answered_503": refused}


def chunked(port):
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(b"POST /v1/detect HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
              b"Content-Type: image/jpeg\r\n\r\n")
    chunk = b"10000\r\n" + b"\xff" * 0x10000 + b"\r\n"
    sent, answer = 0, b""
    c.settimeout(0.001)
    try:
        while sent < 64 << 20 and not answer:
            c.sendall(chunk)
            sent += 0x10000
            try:
                answer = c.recv(200)
            except socket.timeout:
                pass
        if not answer:
            c.sendall(b"0\r\n\r\n")
    except OSError:
        pass
    c.settimeout(30)
    try:
        answer = answer or c.recv(200)
    except OSError:
        pass
    return {"chunked_sent_mib": sent >> 20, "chunked_status": answer.split(b"\r\n")[0].decode() or "none"}


if __name__ == "__main__":
    port = int(sys.argv[1])
    print(json.dumps({**slowloris(port), **chunked(port)}))
