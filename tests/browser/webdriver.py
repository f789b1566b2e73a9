"""The few W3C WebDriver commands the console tests use, over HTTP with the standard library,
against a chromedriver on 127.0.0.1 (no client library needed)."""
import base64
import json
import socket
import subprocess
import time
import urllib.error
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C key of an element reference


class WebDriverError(RuntimeError):
    pass


def stop_process(process, seconds):
    """SIGTERM, then SIGKILL if it is still running after `seconds`."""
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """One headless Chromium session driven through its own chromedriver process."""

    def __init__(self, chromedriver, chromium, args, log_path):
        self._port = free_port()
        self._log = open(log_path, "wb")
        self._driver = subprocess.Popen([chromedriver, f"--port={self._port}"], stdout=self._log,
                                        stderr=subprocess.STDOUT)
        self._base = f"http://127.0.0.1:{self._port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                self._call("GET", "/status")
                break
            except (OSError, WebDriverError):
                if time.monotonic() > deadline or self._driver.poll() is not None:
                    self.quit()
                    raise WebDriverError(f"chromedriver did not start (log: {log_path})")
                time.sleep(0.2)
        capabilities = {"browserName": "chrome",
                        "goog:chromeOptions": {"binary": chromium, "args": args},
                        "goog:loggingPrefs": {"browser": "ALL"}}
        try:
            session = self._call("POST", "/session", {"capabilities": {"alwaysMatch": capabilities}})
        except WebDriverError:
            self.quit()
            raise
        self._session = f"/session/{session['sessionId']}"

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self._base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return json.loads(response.read())["value"]
        except urllib.error.HTTPError as error:
            value = json.loads(error.read() or b"{}").get("value", {})
            raise WebDriverError(f"{method} {path}: {value.get('error')}: {value.get('message')}") from None

    def session(self, method, path, body=None):
        return self._call(method, self._session + path, body)

    def get(self, url):
        self.session("POST", "/url", {"url": url})

    def execute(self, script, *args):
        return self.session("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find_all(self, css):
        return [e[ELEMENT] for e in self.session("POST", "/elements", {"using": "css selector", "value": css})]

    def find(self, css, timeout=20):
        return self.wait(lambda: (self.find_all(css) or [None])[0], timeout, f"no element {css}")

    def click(self, css):
        self.session("POST", f"/element/{self.find(css)}/click", {})

    def type(self, css, text, clear=True):
        element = self.find(css)
        if clear:
            self.session("POST", f"/element/{element}/clear", {})
        self.session("POST", f"/element/{element}/value", {"text": text})

    def text(self, css):
        return self.session("GET", f"/element/{self.find(css)}/text")

    def wait(self, condition, timeout=20, what="condition"):
        """Polls `condition` until it returns something truthy; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                message = self.execute("const m = document.querySelector('#message'); return m ? m.textContent : '';")
                raise AssertionError(f"timed out after {timeout} s waiting for {what} (page message: {message!r})")
            time.sleep(0.2)

    def screenshot(self, path):
        """A PNG of the whole page: the window is made as tall as the page for it."""
        rect = self.session("GET", "/window/rect")
        height = self.execute("return document.documentElement.scrollHeight;")
        self.session("POST", "/window/rect", {"width": rect["width"], "height": min(max(height + 300, rect["height"]), 4000)})
        try:
            path.write_bytes(base64.b64decode(self.session("GET", "/screenshot")))
        finally:
            self.session("POST", "/window/rect", {"width": rect["width"], "height": rect["height"]})

    def console_log(self):
        """The browser console's messages since the last call (chromedriver's log endpoint)."""
        return self.session("POST", "/se/log", {"type": "browser"})

    def quit(self):
        try:
            if hasattr(self, "_session"):
                self._call("DELETE", self._session)
        finally:
            stop_process(self._driver, 10)
            self._log.close()
