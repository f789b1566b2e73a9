"""Fixtures of the Python binding tests: the installed sample photos (always there), the
../shared datasets (skipped when absent) and engines on in-memory galleries.
Run: PYTHONPATH=<build>/python python3 -m pytest tests/python"""
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

import faceid

REPO = Path(__file__).resolve().parents[2]
# LFW people with many photos: the first few are enrolled, later ones are held out.
PEOPLE = ("Colin_Powell", "Laura_Bush")
ENROLLED_PHOTOS = 5


def shared_dir():
    """$FACEID_SHARED_DIR (an error when it holds no data: a typo must not skip every data test),
    else ../shared next to this checkout."""
    if os.environ.get("FACEID_SHARED_DIR"):
        shared = Path(os.environ["FACEID_SHARED_DIR"])
        if not ((shared / "datasets").is_dir() or (shared / "models").is_dir()):
            pytest.fail(f"FACEID_SHARED_DIR={shared} holds neither datasets/ nor models/")
        return shared
    return REPO.parent / "shared"


def shared_dataset(name):
    """../shared/datasets/<name> next to the repository (or under $FACEID_SHARED_DIR), None when absent:
    for tests that run on the samples always and on the dataset where it is present."""
    folder = shared_dir() / "datasets" / name
    return folder if folder.is_dir() else None


def dataset_dir(name):
    """../shared/datasets/<name>, else skip."""
    folder = shared_dataset(name)
    if folder is None:
        pytest.skip(f"needs ../shared/datasets/{name} (development data, absent on this machine)")
    return folder


@pytest.fixture(scope="session")
def lfw():
    return dataset_dir("lfw_dev")


def photos_of(lfw, person):
    return sorted(str(p) for p in (lfw / "images" / person).glob("*.jpg"))


@pytest.fixture(scope="session")
def gallery_engine(lfw):
    """An engine with the first photos of each of PEOPLE enrolled (shared: tests must not change it)."""
    engine = faceid.Engine(gallery=":memory:")
    for person in PEOPLE:
        outcomes = engine.enroll(person, photos_of(lfw, person)[:ENROLLED_PHOTOS])
        assert [o.status for o in outcomes] == ["enrolled"] * ENROLLED_PHOTOS, outcomes
    return engine


@pytest.fixture()
def engine():
    return faceid.Engine(gallery=":memory:")


@pytest.fixture(scope="session")
def held_out(lfw):
    """(person, photo) pairs never enrolled in gallery_engine."""
    skip = ENROLLED_PHOTOS + 5
    return [(person, photo) for person in PEOPLE for photo in photos_of(lfw, person)[skip:skip + 3]]


# The installed sample photos (who is who: tests/sample_people.hpp). alice is the largest face of
# sample1.jpg and of sample3.jpg (the same woman in two photos); bea the largest of sample4.jpg.
def sample_photo(i):
    return str(Path(faceid.default_model_dir()) / "samples" / f"sample{i}.jpg")


def write_png(path, bgr):
    """A BGR uint8 array as an 8-bit RGB PNG (no OpenCV needed)."""
    height, width = bgr.shape[:2]
    rows = b"".join(b"\0" + bgr[y, :, ::-1].tobytes() for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
                           + chunk(b"IEND", b""))
    return str(path)


@pytest.fixture(scope="session")
def sample_engine():
    """alice enrolled from sample1.jpg, bea from sample4.jpg (shared: tests must not change it)."""
    engine = faceid.Engine(gallery=":memory:")
    for person, photo in (("alice", sample_photo(1)), ("bea", sample_photo(4))):
        assert [o.status for o in engine.enroll(person, [photo])] == ["enrolled"]
    return engine


@pytest.fixture(scope="session")
def sample_held_out(tmp_path_factory):
    """(person, photo) whose largest face is that person, never enrolled in sample_engine: alice in
    sample3.jpg and its mirror image; bea cut out of sample4.jpg (another image of the same photo)."""
    folder = tmp_path_factory.mktemp("held_out")
    third = faceid.load_image(sample_photo(3))
    fourth = faceid.load_image(sample_photo(4))
    bea = max(faceid.Engine(gallery=":memory:").detect(fourth), key=lambda f: f.box[2] * f.box[3])
    x, y, w, h = (int(v) for v in bea.box)
    cut = fourth[max(0, y - h):y + 2 * h, max(0, x - w):x + 2 * w]
    return [("alice", sample_photo(3)), ("alice", write_png(folder / "alice_mirror.png", third[:, ::-1])),
            ("bea", write_png(folder / "bea_cut.png", np.ascontiguousarray(cut)))]


@pytest.fixture(scope="session")
def sample_faces(tmp_path_factory):
    """Images of the labelled sample people for pair and protocol files: alice's two photos and their
    mirror images, bea's photo and its mirror image, and the five strangers of sample5.jpg cut out one
    by one (each image's largest face is the one named)."""
    folder = tmp_path_factory.mktemp("sample_faces")
    detector = faceid.Engine(gallery=":memory:")
    faces = {"alice": [], "bea": [], "stranger": []}
    for person, i in (("alice", 1), ("alice", 3), ("bea", 4)):
        photo = faceid.load_image(sample_photo(i))
        faces[person] += [sample_photo(i), write_png(folder / f"sample{i}_mirror.png", photo[:, ::-1])]
    group = faceid.load_image(sample_photo(5))
    for k, face in enumerate(detector.detect(group)):
        x, y, w, h = (int(v) for v in face.box)
        cut = group[max(0, y - h // 2):y + h + h // 2, max(0, x - w // 2):x + w + w // 2]
        faces["stranger"].append(write_png(folder / f"sample5_face{k}.png", np.ascontiguousarray(cut)))
    assert len(faces["stranger"]) == 5
    return faces


@pytest.fixture(scope="session")
def sample_pairs(sample_faces):
    """(image, image, same person) pairs of sample_faces: alice's photo against her other photo (the
    genuine pairs: cosine 0.70-0.73, tests/sample_people.hpp), alice and bea against the strangers and
    against each other (impostors: none above 0.19)."""
    alice, bea, strangers = sample_faces["alice"], sample_faces["bea"], sample_faces["stranger"]
    genuine = [(a, b, True) for a in alice[:2] for b in alice[2:]]
    impostors = [(a, b, False) for a in alice[::2] + bea[:1] for b in strangers[:3]]
    impostors += [(a, bea[k % 2], False) for k, a in enumerate(alice)]
    return genuine + impostors
