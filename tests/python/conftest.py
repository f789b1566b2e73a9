"""Fixtures of the Python binding tests: the ../shared datasets (skipped when absent) and
engines on in-memory galleries. Run: PYTHONPATH=<build>/python python3 -m pytest tests/python"""
import os
from pathlib import Path

import pytest

import faceid

REPO = Path(__file__).resolve().parents[2]
# LFW people with many photos: the first few are enrolled, later ones are held out.
PEOPLE = ("Colin_Powell", "Laura_Bush")
ENROLLED_PHOTOS = 5


def dataset_dir(name):
    """../shared/datasets/<name> next to the repository (or under $FACEID_SHARED_DIR), else skip."""
    shared = Path(os.environ.get("FACEID_SHARED_DIR") or REPO.parent / "shared")
    folder = shared / "datasets" / name
    if not folder.is_dir():
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
