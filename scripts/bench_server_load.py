#!/usr/bin/env python3
"""Latency of `faceid serve` under load: one client, then N concurrent clients.

Starts the given faceid binary on 127.0.0.1 (a free port, a temporary data folder,
--no-auth), enrolls one photo, and sends recognize requests: first from one client,
then from N clients at once for a fixed time. Prints one JSON line with the
latencies of accepted requests (median, p99), the 503 answers and their Retry-After, the
throughput of each phase, and the server's CPU time per request (/proc: every thread of it).

  scripts/bench_server_load.py --faceid build/faceid --photo ~/.cache/faceid/models/samples/sample2.jpg
"""
import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import tempfile
import threading
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else None


def cpu_seconds(pid):
    """User + system CPU time of process `pid` so far, all threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def post(conn, path, body, content_type):
    start = time.monotonic()
    conn.request("POST", path, body=body, headers={"Content-Type": content_type})
    response = conn.getresponse()
    response.read()
    return response.status, response.getheader("Retry-After"), time.monotonic() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faceid", default="build/faceid")
    parser.add_argument("--photo", required=True)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--single-requests", type=int, default=20)
    parser.add_argument("serve_args", nargs="*", help="extra `faceid serve` options (after --)")
    args = parser.parse_args()
    photo = open(args.photo, "rb").read()
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        server = subprocess.Popen([args.faceid, "serve", "--data-dir", data, "--no-auth", "--host", "127.0.0.1",
                                   "--port", str(port), *args.serve_args],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(600):
                try:
                    http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/health")
                    break
                except OSError:
                    time.sleep(0.1)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            post(conn, "/v1/collections", json.dumps({"name": "load"}), "application/json")
            post(conn, "/v1/collections/load/subjects/person/faces", photo, "image/jpeg")
            path = "/v1/collections/load/recognize"
            post(conn, path, photo, "image/jpeg")  # warm-up: the first request builds the networks
            cpu_start, single_start = cpu_seconds(server.pid), time.monotonic()
            single = [post(conn, path, photo, "image/jpeg")[2] for _ in range(args.single_requests)]
            single_elapsed = time.monotonic() - single_start
            single_cpu = cpu_seconds(server.pid) - cpu_start

            accepted, shed, failed = [], [], []
            lock = threading.Lock()
            stop_at = time.monotonic() + args.seconds

            def client():
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                while time.monotonic() < stop_at:
                    try:
                        status, retry_after, took = post(c, path, photo, "image/jpeg")
                    except (OSError, http.client.HTTPException) as e:
                        with lock:
                            failed.append(type(e).__name__ + ": " + str(e))
                        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                        continue
                    with lock:
                        if status == 200:
                            accepted.append(took)
                        elif status == 503:
                            shed.append(retry_after)
                        else:
                            failed.append(status)
                    if status == 503:
                        time.sleep(float(retry_after or 1))  # a polite client does as it is told

            threads = [threading.Thread(target=client) for _ in range(args.clients)]
            cpu_start, start = cpu_seconds(server.pid), time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.monotonic() - start
            loaded_cpu = cpu_seconds(server.pid) - cpu_start
            single_median = statistics.median(single)
            p99 = percentile(accepted, 0.99)
            print(json.dumps({
                "single_client": {"median_s": round(single_median, 4), "p99_s": round(percentile(single, 0.99), 4),
                                  "per_s": round(len(single) / single_elapsed, 2),
                                  "cpu_ms_per_request": round(1e3 * single_cpu / len(single), 1)},
                "clients": args.clients,
                "accepted": len(accepted),
                "accepted_per_s": round(len(accepted) / elapsed, 2),
                "accepted_over_single_rate": round(len(accepted) / elapsed / (len(single) / single_elapsed), 2),
                "cpu_ms_per_accepted_request": round(1e3 * loaded_cpu / len(accepted), 1) if accepted else None,
                "accepted_median_s": round(statistics.median(accepted), 4) if accepted else None,
                "accepted_p99_s": round(p99, 4) if p99 else None,
                "p99_over_single_median": round(p99 / single_median, 2) if p99 else None,
                "shed_503": len(shed),
                "shed_with_retry_after": sum(1 for r in shed if r),
                "failed": len(failed),
                "failure_example": failed[0] if failed else None,
            }))
        finally:
            server.terminate()
            server.wait(timeout=60)


if __name__ == "__main__":
    main()
