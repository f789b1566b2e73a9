"""Liveness from Python: identify(liveness=...) and VideoIdentifier(liveness=True) on real attacks
(../shared/datasets/spoof_dev) and on a grey copy of a sample photo."""
import cv2
import pytest

import faceid
from conftest import dataset_dir, sample_photo

REAL = "images/real/nuaa/0004_0004_01_06_03_0.jpg"
PRINT = "images/spoof/nuaa/0004_0004_01_01_03_0.jpg"


@pytest.fixture(scope="module")
def spoof_dev():
    return dataset_dir("spoof_dev")


def test_printed_photo_is_never_named(spoof_dev):
    engine = faceid.Engine(gallery=":memory:")
    assert [o.status for o in engine.enroll("s0004", [str(spoof_dev / REAL)])] == ["enrolled"]
    attack = engine.identify(str(spoof_dev / PRINT), liveness=True)[0]
    assert attack.person is None
    assert attack.liveness.status == "spoof"
    assert attack.liveness.score < attack.liveness.threshold
    assert engine.identify(str(spoof_dev / PRINT))[0].liveness is None  # off unless asked
    genuine = engine.identify(str(spoof_dev / REAL), liveness=True)[0]
    assert genuine.person == "s0004"
    assert genuine.liveness.is_live


def test_grey_image_cannot_be_judged(tmp_path):
    """Needs only a real face: alice's other photo (sample3.jpg) in grey. Without liveness it names
    her; with liveness it cannot be judged, so she is not named and cannot be enrolled from it."""
    gallery = str(tmp_path / "g.db")
    plain = faceid.Engine(gallery=gallery)
    assert [o.status for o in plain.enroll("alice", [sample_photo(1)])] == ["enrolled"]
    grey = cv2.cvtColor(cv2.imread(sample_photo(3), cv2.IMREAD_GRAYSCALE), cv2.COLOR_GRAY2BGR)
    assert plain.identify(grey)[0].person == "alice"
    engine = faceid.Engine(gallery=gallery, liveness=True)
    face = engine.identify(grey)[0]
    assert face.person is None
    assert face.liveness.score is None
    assert face.liveness.status == "cannot_judge"
    assert "grayscale" in face.liveness.reason
    refused = engine.enroll("alice", [grey])
    assert refused[0].status == "cannot_judge"
    assert refused[0].code == "cannot_judge"


def test_video_track_of_a_print_becomes_an_attack(spoof_dev):
    engine = faceid.Engine(gallery=":memory:")
    engine.enroll("s0004", [str(spoof_dev / REAL)])
    for path, expected in ((PRINT, "attack"), (REAL, "identified")):
        video = faceid.VideoIdentifier(engine, liveness=True, liveness_frames=3, detect_every=1)
        frame = cv2.imread(str(spoof_dev / path))
        for i in range(12):
            video.process(frame, i / 10)
        events = [e.type for e in video.take_events()]
        assert expected in events, events
        assert ("identified" in events) == (expected == "identified"), events
        assert video.stats.liveness_checks == 3, "liveness runs per track decision, not per frame"
