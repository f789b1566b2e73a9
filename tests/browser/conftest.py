"""Fixtures of the browser tests: a real `faceid serve` on 127.0.0.1 over a temporary data folder,
and headless Chromium driven over WebDriver. Run (scripts/test.sh does):
    FACEID_BUILD_DIR=build /usr/bin/python3 -m pytest -q -rs tests/browser
Screenshots of every page are written to <build>/browser-screenshots/."""
import json
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from webdriver import Browser, stop_process

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("FACEID_BUILD_DIR") or REPO / "build")
FACEID = BUILD / "faceid"


def model_dir():
    """The folder the faceid binary uses by default (default_model_dir())."""
    if os.environ.get("FACEID_MODEL_DIR"):
        return Path(os.environ["FACEID_MODEL_DIR"])
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "faceid" / "models"


MODELS = model_dir()
SAMPLES = MODELS / "samples"


def sample(n):
    return SAMPLES / f"sample{n}.jpg"


class Server:
    """`faceid serve` on a free port of 127.0.0.1 with an admin key, stopped by stop()."""

    def __init__(self, data_dir, models, log_path):
        created = subprocess.run([str(FACEID), "keys", "--data-dir", str(data_dir), "create", "--admin"],
                                 check=True, capture_output=True, text=True)
        self.admin_key = json.loads(created.stdout.splitlines()[-1])["key"]
        self._log = open(log_path, "w")
        self._process = subprocess.Popen(
            [str(FACEID), "--model-dir", str(models), "serve", "--data-dir", str(data_dir), "--host", "127.0.0.1",
             "--port", "0", "--threads", "4"],
            stderr=subprocess.PIPE, stdout=self._log, text=True)
        deadline = time.monotonic() + 180
        self.url = None
        for line in self._process.stderr:
            self._log.write(line)
            found = re.search(r"serving (http://127\.0\.0\.1:\d+)", line)
            if found:
                self.url = found.group(1)
                break
            if time.monotonic() > deadline:
                break
        if not self.url:
            self.stop()
            raise RuntimeError(f"faceid serve did not start (log: {log_path})")
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self._process.stderr:
            self._log.write(line)
            self._log.flush()

    def stop(self):
        stop_process(self._process, 30)
        self._log.close()


@pytest.fixture(scope="session")
def artifacts():
    folder = BUILD / "browser-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def faceid_ready():
    if not FACEID.exists():
        pytest.skip(f"needs the faceid binary ({FACEID}; set FACEID_BUILD_DIR)")
    if not all((MODELS / f).exists() for f in ("fr_detect.onnx", "fr_landmark.onnx", "fr_feature.onnx")) \
            or not sample(1).exists():
        pytest.skip(f"needs the default models and sample photos in {MODELS} (`faceid models install`)")


@pytest.fixture(scope="session")
def server(faceid_ready, tmp_path_factory, artifacts):
    running = Server(tmp_path_factory.mktemp("data"), MODELS, artifacts / "server.log")
    yield running
    running.stop()


def browser_programs():
    chromium = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("needs a browser: Debian's chromium and chromium-driver (apt-get install chromium chromium-driver); "
                    f"found chromium={chromium}, chromedriver={driver}")
    return chromium, driver


def start_browser(artifacts, name, extra_args=()):
    chromium, driver = browser_programs()
    args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000",
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", *extra_args]
    return Browser(driver, chromium, args, artifacts / f"chromedriver-{name}.log")


@pytest.fixture(scope="module")
def browser(artifacts):
    running = start_browser(artifacts, "console")
    yield running
    running.quit()
