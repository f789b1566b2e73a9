"""The web console in a real browser against a real server: collections, enrollment through the
upload form (file picker and drag-and-drop), people management, "try it", the webcam pages on
Chromium's fake camera, and the Swagger UI page. Each page's screenshot is kept as an artefact."""
import base64
import json
import re
import urllib.error
import urllib.request
from html.parser import HTMLParser

import pytest

from conftest import MODELS, Server, sample, start_browser


def http(server, path, key=None, headers=None, method="GET", body=None):
    """(status, headers, body) of one request to the server."""
    request = urllib.request.Request(server.url + path, method=method, data=body, headers=dict(headers or {}))
    if key:
        request.add_header("Authorization", "Bearer " + key)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


class AssetLinks(HTMLParser):
    """Every src= and href= of a page."""

    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        self.links += [value for name, value in attrs if name in ("src", "href")]


def open_console(browser, server):
    browser.get(server.url + "/")
    browser.type("#api-key", server.admin_key)
    browser.click("#key-form button[type=submit]")
    browser.wait(lambda: "key accepted" in browser.text("#message"), what="the key to be accepted")


def go(browser, page):
    browser.execute("location.hash = arguments[0];", "#" + page)
    browser.wait(lambda: browser.execute(f"return !document.querySelector('#page-{page}').hidden;"), what=f"page {page}")


def drop_file(browser, zone_css, path):
    """Drops `path` on a drop zone as a user dragging the file from their desktop would."""
    browser.execute(
        """const [zone, name, b64] = arguments;
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], name, { type: "image/jpeg" }));
        document.querySelector(zone).dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true }));""",
        zone_css, path.name, base64.b64encode(path.read_bytes()).decode())


def person_cards(browser):
    return browser.execute("return Array.from(document.querySelectorAll('#people-list .person'), (c) => c.dataset.person);")


def loaded_thumbnails(browser, person):
    return browser.execute(
        "return Array.from(document.querySelectorAll(`.person[data-person='${arguments[0]}'] .thumb img`))"
        ".filter((img) => img.complete && img.naturalWidth > 0).length;", person)


def drawn_faces(browser, stage):
    return browser.execute(
        "return Array.from(document.querySelectorAll(arguments[0] + ' .face-box'), (b) => "
        "({person: b.dataset.person, label: b.querySelector('.face-label').textContent}));", stage)


def test_pages_load_without_a_key_from_this_server_only(server):
    status, headers, body = http(server, "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    links = AssetLinks()
    links.feed(body.decode())
    assert links.links, "the console page links its script and stylesheet"
    for link in links.links:
        assert link.startswith("/") or link.startswith("#"), f"{link}: every asset comes from the server itself"
    for link in (l for l in links.links if l.startswith("/console/")):
        status, headers, _ = http(server, link)
        assert status == 200, link
        etag = headers["ETag"]
        assert http(server, link, headers={"If-None-Match": etag})[0] == 304, link
    status, _, body = http(server, "/console/absent.js")
    assert status == 404 and json.loads(body)["error"]["code"] == "not_found"


def test_api_answers_need_the_key_and_are_never_cached(server):
    assert http(server, "/v1/collections")[0] == 401
    status, headers, _ = http(server, "/v1/collections", key=server.admin_key)
    assert status == 200
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_collections_people_and_try_it(server, browser, artifacts):
    open_console(browser, server)
    go(browser, "collections")
    for name in ("demo", "scratch"):
        browser.type("#new-collection", name)
        browser.click("#create-collection button[type=submit]")
        browser.find(f"#collections-table tr[data-collection={name}]")
    browser.screenshot(artifacts / "collections.png")
    # Deleting asks twice.
    browser.click("#collections-table tr[data-collection=scratch] button.danger")
    browser.click("#collections-table tr[data-collection=scratch] button.danger")
    browser.wait(lambda: not browser.find_all("#collections-table tr[data-collection=scratch]"), what="scratch deleted")
    assert "scratch" not in http(server, "/v1/collections", key=server.admin_key)[2].decode()

    browser.click("#collections-table tr[data-collection=demo] button:not(.danger)")
    browser.wait(lambda: browser.execute("return location.hash;") == "#people", what="the people page")
    # alice through the file picker; bob dropped on the drop zone.
    browser.type("#upload-name", "alice")
    browser.type("#upload-files", str(sample(1)), clear=False)
    browser.click("#upload-form button[type=submit]")
    browser.wait(lambda: "alice" in person_cards(browser), what="alice enrolled")
    browser.type("#upload-name", "bob")
    drop_file(browser, "#upload-drop", sample(3))
    browser.wait(lambda: "sample3.jpg" in browser.text("#upload-chosen"), what="the dropped photo to be listed")
    browser.click("#upload-form button[type=submit]")
    browser.wait(lambda: "bob" in person_cards(browser), what="bob enrolled")
    # Two photos of a third person at once, then one face removed, then the person.
    browser.type("#upload-name", "temp")
    browser.type("#upload-files", f"{sample(5)}\n{sample(6)}", clear=False)
    browser.click("#upload-form button[type=submit]")
    browser.wait(lambda: loaded_thumbnails(browser, "temp") == 2, what="two faces of temp")
    browser.click(".person[data-person=temp] .thumb-remove")
    browser.wait(lambda: loaded_thumbnails(browser, "temp") == 1, what="one face of temp removed")
    browser.click(".person[data-person=temp] button.danger")
    browser.click(".person[data-person=temp] button.danger")
    browser.wait(lambda: "temp" not in person_cards(browser), what="temp removed")
    # Rename bob to carol.
    browser.type(".person[data-person=bob] .rename-input", "carol")
    browser.click(".person[data-person=bob] .rename-input + button")
    browser.wait(lambda: person_cards(browser) == ["alice", "carol"], what="bob renamed carol")
    browser.wait(lambda: loaded_thumbnails(browser, "alice") == 1 and loaded_thumbnails(browser, "carol") == 1,
                 what="the face crops as thumbnails")
    browser.screenshot(artifacts / "people.png")

    go(browser, "try")
    for photo, person in ((sample(1), "alice"), (sample(3), "carol")):
        browser.type("#try-file", str(photo), clear=False)
        faces = browser.wait(lambda: [f for f in drawn_faces(browser, "#try-stage") if f["person"] == person],
                             what=f"{person} drawn on {photo.name}")
        assert re.match(rf"{person} \d\.\d{{3}}runner-up \w+ -?\d\.\d{{3}}$", faces[0]["label"]), faces[0]
        strangers = [f["label"] for f in drawn_faces(browser, "#try-stage") if not f["person"]]
        assert all(re.match(r"unknown \(closest \w+ -?\d\.\d{3}\)", label) for label in strangers), strangers
        assert len(drawn_faces(browser, "#try-stage")) == len(browser.find_all("#try-results tbody tr")) > 1
        if person == "alice":
            browser.screenshot(artifacts / "try-it.png")
    # The photo of alice dropped on the drop zone gives the same answer.
    drop_file(browser, "#try-drop", sample(1))
    browser.wait(lambda: any(f["person"] == "alice" for f in drawn_faces(browser, "#try-stage")), what="alice again")
    problems = [entry for entry in browser.console_log() if entry.get("level") == "SEVERE"]
    assert not problems, f"the console's pages logged errors (a Content-Security-Policy refusal?): {problems}"


def test_webcam_capture_starts_and_frames_get_scored(server, browser, artifacts):
    """Chromium's default fake camera (a moving test pattern, no face): capture runs, every frame is scored."""
    open_console(browser, server)
    go(browser, "enroll")
    browser.type("#enroll-name", "nobody")
    browser.type("#enroll-count", "20")
    browser.click("#enroll-camera")
    browser.wait(lambda: browser.execute("return document.querySelector('#enroll-video').videoWidth > 0;"),
                 what="the camera to start")
    browser.click("#enroll-capture")
    browser.wait(lambda: browser.execute(
        "return document.querySelectorAll('#enroll-frames .frame:not(.pending)').length;") == 20,
        timeout=90, what="20 frames scored")
    captions = browser.execute("return Array.from(document.querySelectorAll('#enroll-frames figcaption'), (c) => c.textContent);")
    assert all(c == "no face" or c.startswith("quality ") for c in captions), captions
    browser.screenshot(artifacts / "enroll-test-pattern.png")


@pytest.fixture(scope="module")
def face_camera(server, tmp_path_factory):
    """A Y4M video for Chromium's fake camera: 640x480 views around the subject face of sample1.jpg."""
    cv2 = pytest.importorskip("cv2", reason="the webcam video is made with python3-opencv")
    photo = cv2.imread(str(sample(1)))
    status, _, body = http(server, "/v1/detect", key=server.admin_key, method="POST",
                           headers={"Content-Type": "image/jpeg"}, body=sample(1).read_bytes())
    assert status == 200, body
    faces = json.loads(body)["faces"]
    best = max(f["score"] for f in faces)
    box = max((f for f in faces if f["score"] >= best - 0.1), key=lambda f: f["box"]["width"] * f["box"]["height"])["box"]
    path = tmp_path_factory.mktemp("camera") / "face.y4m"
    with open(path, "wb") as video:
        video.write(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n")
        for i in range(80):  # 8 s at 10 frames/s: longer than a capture burst
            # A slowly moving, zooming view: every frame differs, as a real camera's do.
            side = box["height"] * (2.6 + 0.02 * (i % 10))
            cx = box["x"] + box["width"] / 2 + 3 * ((i % 7) - 3)
            cy = box["y"] + box["height"] / 2
            x0, y0 = int(cx - side * 2 / 3), int(cy - side / 2)
            view = photo[max(y0, 0):int(y0 + side), max(x0, 0):int(x0 + side * 4 / 3)]
            frame = cv2.resize(view, (640, 480), interpolation=cv2.INTER_AREA)
            video.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path


def test_webcam_enrollment_and_live_recognition(server, face_camera, artifacts):
    """A camera that shows a real face: frames are scored, the good ones enrolled, then recognised live."""
    browser = start_browser(artifacts, "webcam", [f"--use-file-for-fake-video-capture={face_camera}"])
    try:
        http(server, "/v1/collections", key=server.admin_key, method="POST",
             headers={"Content-Type": "application/json"}, body=b'{"name": "webcam"}')
        open_console(browser, server)
        browser.type("#collection", "webcam")
        browser.click("h1")  # leaving the field picks the collection
        browser.wait(lambda: browser.execute("return sessionStorage.getItem('faceid.collection');") == "webcam",
                     what="the webcam collection to be chosen")
        go(browser, "enroll")
        browser.type("#enroll-name", "me")
        browser.type("#enroll-count", "20")
        browser.click("#enroll-camera")
        browser.wait(lambda: browser.execute("return document.querySelector('#enroll-video').videoWidth;") == 640,
                     what="the camera to start")
        browser.click("#enroll-capture")
        browser.wait(lambda: browser.execute(
            "return document.querySelectorAll('#enroll-frames .frame:not(.pending)').length;") == 20,
            timeout=120, what="20 frames scored")
        qualities = browser.execute(
            "return Array.from(document.querySelectorAll('#enroll-frames .frame'), (f) => f.dataset.quality);")
        assert all(q for q in qualities), f"a face in every frame: {qualities}"
        good = sum(float(q) >= 0.45 for q in qualities)
        assert good > 0, qualities
        browser.wait(lambda: browser.text("#enroll-submit") == f"Enroll {good} ticked frame{'s' if good > 1 else ''}",
                     what="the enroll button to count the good frames")
        browser.screenshot(artifacts / "enroll.png")
        browser.click("#enroll-submit")
        browser.wait(lambda: browser.find_all("#enroll-results li"), what="the enrollment results")
        statuses = browser.execute("return Array.from(document.querySelectorAll('#enroll-results li'), (li) => li.className);")
        assert len(statuses) == good, statuses
        # A frame the camera repeated byte for byte is reported as a duplicate, not enrolled twice.
        assert statuses.count("enrolled") > good / 2 and set(statuses) <= {"enrolled", "duplicate"}, statuses
        status, _, body = http(server, "/v1/collections/webcam/people/me", key=server.admin_key)
        assert status == 200 and json.loads(body)["faces"] == statuses.count("enrolled")

        go(browser, "live")
        browser.click("#live-start")
        browser.wait(lambda: any(f["person"] == "me" for f in drawn_faces(browser, "#live-stage")),
                     timeout=60, what="me recognised live")
        rate = browser.wait(lambda: re.match(r"([\d.]+) frames/s", browser.text("#live-status")), what="the frame rate")
        assert 0 < float(rate.group(1)) <= 3.5, "live frames are sent at the chosen rate (3 per second) at most"
        browser.screenshot(artifacts / "live.png")
        browser.click("#live-stop")
    finally:
        browser.quit()


def test_swagger_ui_over_the_openapi_document(server, browser, artifacts):
    if not (MODELS / "swagger-ui" / "swagger-ui-bundle.js").exists():
        pytest.skip(f"Swagger UI is not installed in {MODELS} (`faceid models install`)")
    status, headers, _ = http(server, "/docs")
    assert status == 200 and "script-src 'self'" in headers["Content-Security-Policy"]
    browser.get(server.url + "/docs")
    title = browser.wait(lambda: browser.find_all(".swagger-ui .info .title") and browser.text(".swagger-ui .info .title"),
                         timeout=30, what="Swagger UI to render")
    assert title.startswith("FaceID REST API")
    browser.find(".opblock-summary-path[data-path='/v1/collections/{collection}/recognize']")
    problems = [entry for entry in browser.console_log() if entry.get("level") == "SEVERE"]
    assert not problems, f"Swagger UI logged errors (a Content-Security-Policy refusal?): {problems}"
    browser.screenshot(artifacts / "docs.png")


def test_docs_page_says_how_to_install_swagger_ui(faceid_ready, tmp_path, artifacts):
    models = tmp_path / "models"
    models.mkdir()
    for name in ("fr_detect.onnx", "fr_landmark.onnx", "fr_feature.onnx"):
        (models / name).symlink_to(MODELS / name)
    bare = Server(tmp_path / "data", models, artifacts / "server-without-swagger.log")
    try:
        status, headers, body = http(bare, "/docs")
        assert status == 404 and headers["Content-Type"].startswith("text/html")
        page = body.decode()
        assert "faceid models install" in page
        assert "swagger-ui/swagger-ui-bundle.js is not in the model folder" in page
    finally:
        bare.stop()
