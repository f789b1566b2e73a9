#!/usr/bin/env python3
"""The tracking-loop pattern: an OpenCV capture loop runs its own tracker on every frame and asks
FaceID who each tracked face is every few frames, in a worker thread, so capture never waits
for recognition (FaceID releases the GIL while it works).

    python3 track_and_identify.py 0 --gallery faces.db                      # camera 0
    python3 track_and_identify.py clip.mp4 --enroll alice=a1.jpg --enroll-dir DB/ --no-window
    python3 track_and_identify.py clip.mp4 --builtin   # faceid.VideoIdentifier tracks and votes instead

--enroll-dir takes the DB/Username/Username1.jpg layout (folder name = user ID). Press q to quit.
"""
import argparse
import itertools
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2

import faceid


def iou(a, b):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    union = aw * ah + bw * bh - w * h
    return w * h / union if union > 0 else 0.0


class Track:
    """One face followed by an OpenCV tracker; FaceID's latest answer names it."""

    def __init__(self, track_id, frame, box):
        self.id = track_id
        self.box = box
        self.person = None
        self.score = 0.0
        self.missed = 0  # identifications in a row that did not find this face
        # KCF is fast but ships only with opencv-contrib builds (Debian's has it); MIL is always there.
        self.tracker = getattr(cv2, "TrackerKCF_create", cv2.TrackerMIL_create)()
        self.tracker.init(frame, tuple(int(round(v)) for v in box))

    def follow(self, frame):
        ok, box = self.tracker.update(frame)
        if ok:
            self.box = tuple(float(v) for v in box)
        return ok


class OwnTracker:
    """Stands in for the team's tracker: follows faces on every frame, and takes their names
    from FaceID's results, which arrive a few frames late."""

    def __init__(self, max_missed=2, min_iou=0.3):
        self.tracks = []
        self.ids = itertools.count(1)
        self.max_missed = max_missed
        self.min_iou = min_iou

    def follow(self, frame):
        self.tracks = [t for t in self.tracks if t.follow(frame)]

    def name(self, frame, faces):
        """Gives each face FaceID found in `frame` to the track that overlaps it most; returns the
        tracks whose name changed."""
        changed, seen = [], set()
        for face in faces:
            track = max(self.tracks, key=lambda t: iou(t.box, face.box), default=None)
            if track is None or track.id in seen or iou(track.box, face.box) < self.min_iou:
                track = Track(next(self.ids), frame, face.box)
                self.tracks.append(track)
            seen.add(track.id)
            if track.person != face.person or track.missed:
                changed.append(track)
            track.person, track.score, track.missed = face.person, face.score, 0
        for track in self.tracks:
            if track.id not in seen:
                track.missed += 1
        self.tracks = [t for t in self.tracks if t.missed <= self.max_missed]
        return changed


def report(tracker, identification):
    """Names the tracks from a finished identification and prints those whose name changed."""
    frame, seconds, answer = identification
    for track in tracker.name(frame, answer.result()):
        print(f"{seconds:7.2f}s track {track.id}: {track.person or 'unknown'} ({track.score:.2f})", flush=True)


def enroll(engine, pairs, folder):
    batches = [(name, [image]) for name, image in (pair.split("=", 1) for pair in pairs)]
    if folder:
        batches += [(d.name, sorted(str(p) for p in d.iterdir() if p.is_file()))
                    for d in sorted(Path(folder).iterdir()) if d.is_dir()]
    for person, images in batches:
        statuses = [o.status for o in engine.enroll(person, images)]
        print(f"enrolled {person}: {statuses.count('enrolled')} new, {statuses.count('duplicate')} already there, "
              f"{len(statuses) - statuses.count('enrolled') - statuses.count('duplicate')} without a usable face")


def draw(frame, box, label):
    x, y, w, h = (int(v) for v in box)
    cv2.rectangle(frame, (x, y), (x + w, y + h), (0, 200, 0), 2)
    cv2.putText(frame, label, (x, max(12, y - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 200, 0), 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="camera index (0), video file or stream URL")
    parser.add_argument("--gallery", help="gallery file (default: FaceID's default gallery)")
    parser.add_argument("--enroll", action="append", default=[], metavar="USER=IMAGE", help="enroll first")
    parser.add_argument("--enroll-dir", metavar="DB", help="enroll every DB/Username/ folder first")
    parser.add_argument("--every", type=int, default=5, help="ask FaceID every N frames (default 5)")
    parser.add_argument("--builtin", action="store_true", help="use faceid.VideoIdentifier instead of own tracker")
    parser.add_argument("--no-window", action="store_true", help="print only, show nothing")
    parser.add_argument("--max-frames", type=int, default=0, help="stop after N frames (0 = until the end)")
    args = parser.parse_args()

    engine = faceid.Engine(gallery=args.gallery)
    enroll(engine, args.enroll, args.enroll_dir)
    capture = cv2.VideoCapture(int(args.source) if args.source.isdigit() else args.source)
    if not capture.isOpened():
        raise SystemExit(f"cannot open {args.source}")
    live = args.source.isdigit() or "://" in args.source
    video = faceid.VideoIdentifier(engine) if args.builtin else None
    tracker = OwnTracker()
    recognition = ThreadPoolExecutor(max_workers=1)
    pending = None  # (frame, its time, future) of the identification in flight
    started = time.monotonic()
    seconds = 0.0

    for index in itertools.count():
        ok, frame = capture.read()  # a new array each time: safe to hand to the worker thread
        if not ok or (args.max_frames and index >= args.max_frames):
            break
        seconds = time.monotonic() - started if live else capture.get(cv2.CAP_PROP_POS_MSEC) / 1000
        if video:
            shown = [(f.box, f"#{f.track_id} {f.person or f.state}") for f in video.process(frame, seconds)]
            for event in video.take_events():
                print(f"{event.timestamp:7.2f}s track {event.face.track_id}: {event.type} "
                      f"{event.face.person or event.face.state}", flush=True)
        else:
            tracker.follow(frame)
            if pending and pending[2].done():
                report(tracker, pending)
                pending = None
            if pending is None and index % args.every == 0:
                pending = (frame, seconds, recognition.submit(engine.identify, frame))
            shown = [(t.box, f"#{t.id} {t.person or 'unknown'}") for t in tracker.tracks]
        if not args.no_window:
            canvas = frame.copy()  # the worker may still be reading `frame`
            for box, label in shown:
                draw(canvas, box, label)
            cv2.imshow("faceid", canvas)
            if cv2.waitKey(1) & 0xFF == ord("q"):
                break
    if pending:  # the answer for the last frame sent
        report(tracker, pending)
    if video:
        video.finish(seconds)
        for event in video.take_events():
            print(f"track {event.face.track_id}: {event.type} {event.face.person or event.face.state}")
    recognition.shutdown()
    capture.release()


if __name__ == "__main__":
    main()
