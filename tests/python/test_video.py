"""VideoIdentifier in a caller's loop: tracks, voted identities and events."""
import gc
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import faceid
from conftest import REPO, sample_photo, shared_dataset


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


def run_example(clip, gallery, enroll):
    """examples/python/track_and_identify.py on `clip` with `enroll` (name=image): the people its
    tracks were named (its "track N: NAME (score)" lines)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    command = [sys.executable, str(REPO / "examples/python/track_and_identify.py"), str(clip), "--gallery", str(gallery),
               "--no-window", "--max-frames", "120"]
    for person, photo in enroll:
        command += ["--enroll", f"{person}={photo}"]
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    return set(re.findall(r"track \d+: (\S+) \(", run.stdout)), run.stdout


def test_example_names_people_in_the_sample_clip(tmp_path):
    """A clip of alice's face cut out of sample3.jpg always (alice and bea enrolled from their
    other photos: she is named, bea is not), the clip of ../shared/datasets/video_dev where present."""
    cv2 = pytest.importorskip("cv2", reason="the example needs python3-opencv")
    photo = faceid.load_image(sample_photo(3))
    face = max(faceid.Engine(gallery=":memory:").detect(photo), key=lambda f: f.box[2] * f.box[3])
    x, y, w, h = (int(v) for v in face.box)
    cut = photo[max(0, y - h // 2):y + h + h // 2, max(0, x - w // 2):x + w + w // 2]
    scale = min(640 / cut.shape[1], 360 / cut.shape[0])
    clip = tmp_path / "alice.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (640, 360))
    assert writer.isOpened()
    for i in range(60):  # drifting a pixel per frame, so the tracker has motion to follow
        warp = np.float32([[scale, 0, 320 - scale * cut.shape[1] / 2 - i], [0, scale, 0]])
        writer.write(cv2.warpAffine(cut, warp, (640, 360), borderMode=cv2.BORDER_REPLICATE))
    writer.release()
    named, out = run_example(clip, tmp_path / "samples.db", [("alice", sample_photo(1)), ("bea", sample_photo(4))])
    assert named == {"alice"}, out

    video = shared_dataset("video_dev")
    if video:
        refs = video / "references"
        named, out = run_example(video / "short_hamilton_clip.mp4", tmp_path / "video_dev.db",
                                 [("lin_manuel_miranda", refs / "lin_manuel_miranda.png")])
        assert "lin_manuel_miranda" in named, out
