"""Recognition in threads: concurrent calls agree with serial ones, and the GIL is released."""
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import faceid


def test_concurrent_identify_matches_serial_results(sample_engine, sample_held_out):
    images = [faceid.load_image(path) for _, path in sample_held_out]
    serial = [[(f.person, f.score, f.box) for f in sample_engine.identify(image)] for image in images]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(3):
            results = list(pool.map(sample_engine.identify, images))
            assert [[(f.person, f.score, f.box) for f in faces] for faces in results] == serial


def test_python_threads_run_while_the_engine_works(sample_engine, sample_held_out):
    # A large frame makes one call long enough to see whether Python stalls during it.
    image = faceid.load_image(sample_held_out[0][1])
    frame = np.tile(image, (2, 3, 1))
    started = time.perf_counter()
    sample_engine.identify(frame)
    call_seconds = time.perf_counter() - started

    done = threading.Event()
    worker = threading.Thread(target=lambda: (sample_engine.identify(frame), done.set()))
    ticks = []
    worker.start()
    while not done.is_set():
        ticks.append(time.perf_counter())
        time.sleep(0.001)
    worker.join()
    # Holding the GIL would freeze this loop for the whole call.
    longest_stall = max(np.diff(ticks)) if len(ticks) > 1 else call_seconds
    assert len(ticks) > 5 and longest_stall < call_seconds / 2, (len(ticks), longest_stall, call_seconds)


def test_capture_and_recognition_threads(sample_engine, sample_held_out):
    """The tracking-loop pattern: one thread produces frames, another names the faces."""
    frames = [(person, faceid.load_image(path)) for person, path in sample_held_out]
    named = []
    lock = threading.Lock()

    def recognise(person, frame):
        faces = sample_engine.identify(frame)
        with lock:
            named.append((person, faces[0].person))

    with ThreadPoolExecutor(max_workers=2) as recognition:
        for person, frame in frames:  # the "capture" side never waits for a result
            recognition.submit(recognise, person, frame)
    assert sorted(named) == sorted((person, person) for person, _ in frames)
