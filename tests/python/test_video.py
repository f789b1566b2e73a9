"""VideoIdentifier in a caller's loop: tracks, voted identities and events."""
import gc
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import faceid
from conftest import REPO, dataset_dir, sample_photo


def test_a_steady_face_is_tracked_and_identified(sample_engine, sample_held_out):
    person, path = sample_held_out[0]
    frame = faceid.load_image(path)
    video = faceid.VideoIdentifier(sample_engine, scene_cut_threshold=0)
    for i in range(20):
        tracks = video.process(frame, i / 25)
    main = max(tracks, key=lambda t: t.box[2] * t.box[3])
    assert main.state == "identified" and main.person == person and main.votes >= 2
    events = video.take_events()
    assert [(e.type, e.face.track_id) for e in events if e.face.track_id == main.track_id] == [
        ("enter", main.track_id), ("identified", main.track_id)]
    assert video.take_events() == []
    video.finish(1.0)
    leave = [e for e in video.take_events() if e.type == "leave" and e.face.track_id == main.track_id]
    assert len(leave) == 1 and leave[0].face.person == person and leave[0].timestamp == 1.0
    stats = video.stats
    assert stats.frames == 20 and stats.detector_runs == 10 and stats.recognitions >= 2


def test_a_stranger_is_reported_unknown_not_identified(sample_engine):
    # The largest face of sample5.jpg, a stranger to alice and bea (tests/sample_people.hpp), cut
    # out with a margin and put in a larger grey frame, as a camera would see one person.
    photo = faceid.load_image(sample_photo(5))
    face = max(sample_engine.detect(photo), key=lambda f: f.box[2] * f.box[3])
    x, y, w, h = (int(v) for v in face.box)
    chip = photo[max(0, y - h // 4):y + h + h // 4, max(0, x - w // 4):x + w + w // 4]
    frame = np.full((chip.shape[0] * 3, chip.shape[1] * 3, 3), 128, dtype=np.uint8)
    frame[chip.shape[0]:2 * chip.shape[0], chip.shape[1]:2 * chip.shape[1]] = chip
    video = faceid.VideoIdentifier(sample_engine, scene_cut_threshold=0)
    for i in range(20):
        tracks = video.process(frame, i / 25)
    assert len(tracks) == 1
    main = tracks[0]
    assert main.state == "unknown" and main.person is None
    events = [(e.type, e.face.person) for e in video.take_events()]
    assert events == [("enter", None), ("unknown", None)]


def test_the_identifier_keeps_its_engine_alive(sample_held_out):
    engine = faceid.Engine(gallery=":memory:")
    video = faceid.VideoIdentifier(engine)
    del engine
    gc.collect()
    frame = faceid.load_image(sample_held_out[0][1])
    video.process(frame)  # default timestamp: now
    assert video.stats.frames == 1


def test_bad_options_are_refused(engine):
    with pytest.raises(faceid.BadRequestError):
        faceid.VideoIdentifier(engine, detect_every=0)


def test_example_names_people_in_the_sample_clip(tmp_path):
    pytest.importorskip("cv2", reason="the example needs python3-opencv")
    video = dataset_dir("video_dev")
    refs = video / "references"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    run = subprocess.run(
        [sys.executable, str(REPO / "examples/python/track_and_identify.py"), str(video / "short_hamilton_clip.mp4"),
         "--gallery", str(tmp_path / "g.db"), "--enroll", f"lin_manuel_miranda={refs / 'lin_manuel_miranda.png'}",
         "--no-window", "--max-frames", "120"],
        capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "lin_manuel_miranda" in run.stdout, run.stdout
