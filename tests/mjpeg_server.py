#!/usr/bin/env python3
"""A live camera stand-in: serves one JPEG over and over as multipart MJPEG (what IP cameras send)
on 127.0.0.1, so that `faceid watch http://...` can be tested against a stream that is killed and
restarted. Usage: mjpeg_server.py JPEG PORT_FILE [PORT] [FPS]. PORT 0 (the default) takes a free
port; the port is written to PORT_FILE once the server listens."""
import http.server
import os
import sys
import time

BOUNDARY = "frame"


def main():
    jpeg_path, port_file = sys.argv[1], sys.argv[2]
    port = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    fps = float(sys.argv[4]) if len(sys.argv) > 4 else 15.0
    with open(jpeg_path, "rb") as f:
        jpeg = f.read()
    part = (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n").encode() + jpeg + b"\r\n"

    class Stream(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.end_headers()
            try:
                while True:
                    self.wfile.write(part)
                    self.wfile.flush()
                    time.sleep(1.0 / fps)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the viewer went away

        def log_message(self, *args):
            pass

    # allow_reuse_address: a restart takes the same port while the old connections linger.
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Stream)
    server.daemon_threads = True
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
