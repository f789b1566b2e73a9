#!/usr/bin/python3
"""The default FaceID pipeline written plainly with Python's cv2.dnn (Debian python3-opencv 4.6).

The same three ONNX files and the same preprocessing as the C++ library (src/detection,
src/alignment, src/embedding), so docs/performance.md can compare the two per stage and end to end.
Prints one JSON object: median process CPU milliseconds per image of each stage over the repeats.

  /usr/bin/python3 bench/peer_pipeline.py --threads 1 --repeats 5 IMAGE...
"""
import argparse
import json
import os
import resource
import statistics
import time

import cv2
import numpy as np

MODELS = os.environ.get("FACEID_MODEL_DIR", os.path.expanduser("~/.cache/faceid/models"))
DETECT_SIZE = (320, 240)
SCORE_THRESHOLD, NMS_THRESHOLD, MIN_FACE = 0.6, 0.4, 20
ARCFACE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                        [41.5493, 92.3655], [70.7299, 92.2041]])


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of the process
    return usage.ru_utime + usage.ru_stime


def load_net(name):
    net = cv2.dnn.readNet(os.path.join(MODELS, name))
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    return net


def resize(image, size):
    if (image.shape[1], image.shape[0]) == size:
        return image
    shrinking = size[0] <= image.shape[1] and size[1] <= image.shape[0]
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


class Peer:
    def __init__(self):
        self.detector = load_net("fr_detect.onnx")
        self.landmarker = load_net("fr_landmark.onnx")
        self.embedder = load_net("fr_feature.onnx")
        self.detector_outputs = self.detector.getUnconnectedOutLayersNames()
        self.gallery = np.zeros((0, 512), np.float32)
        self.people = []

    def boxes(self, bgr):
        h, w = bgr.shape[:2]
        blob = cv2.dnn.blobFromImage(resize(bgr, DETECT_SIZE), 1 / 128.0, None, (127, 127, 127), True, False)
        self.detector.setInput(blob)
        outputs = [o.reshape(-1, o.shape[-1]) for o in self.detector.forward(self.detector_outputs)]
        scores = next(o for o in outputs if o.shape[1] == 2)[:, 1]
        corners = next(o for o in outputs if o.shape[1] == 4) * np.array([w, h, w, h], np.float32)
        keep = np.flatnonzero(scores >= SCORE_THRESHOLD)
        rects = [(float(x0), float(y0), float(x1 - x0), float(y1 - y0)) for x0, y0, x1, y1 in corners[keep]]
        kept = keep[np.array(cv2.dnn.NMSBoxes(rects, scores[keep].tolist(), SCORE_THRESHOLD, NMS_THRESHOLD),
                             dtype=int).reshape(-1)] if len(keep) else []
        faces = []
        for i in kept:
            x0, y0, x1, y1 = corners[i]
            visible = (max(x0, 0), max(y0, 0), min(x1, w), min(y1, h))
            if min(visible[2] - visible[0], visible[3] - visible[1]) < MIN_FACE:
                continue
            faces.append((float(x0), float(y0), float(x1), float(y1)))
        faces.sort(key=lambda b: -(min(b[2], w) - max(b[0], 0)) * (min(b[3], h) - max(b[1], 0)))
        return faces

    def landmarks5(self, bgr, box):
        side = box[3] - box[1]
        cx, cy = (box[0] + box[2]) / 2, box[1] + side * 0.55
        x, y, n = int(round(cx - side / 2)), int(round(cy - side / 2)), max(1, int(round(side)))
        h, w = bgr.shape[:2]
        region = np.zeros((n, n, 3), np.uint8)
        ix0, iy0, ix1, iy1 = max(x, 0), max(y, 0), min(x + n, w), min(y + n, h)
        if ix1 > ix0 and iy1 > iy0:
            region[iy0 - y:iy1 - y, ix0 - x:ix1 - x] = bgr[iy0:iy1, ix0:ix1]
        grey = cv2.cvtColor(resize(region, (64, 64)), cv2.COLOR_BGR2GRAY)
        self.landmarker.setInput(cv2.dnn.blobFromImage(grey, 1 / 256.0, None, (0,), False, False))
        p = self.landmarker.forward().reshape(68, 2) * n + np.array([x, y])
        return np.array([p[[37, 38, 40, 41]].mean(0), p[[43, 44, 46, 47]].mean(0), p[30], p[48], p[54]])

    @staticmethod
    def align(bgr, points):
        src, dst = points - points.mean(0), ARCFACE_112 - ARCFACE_112.mean(0)
        norm = (src ** 2).sum()
        a = (src * dst).sum() / norm
        b = (src[:, 0] * dst[:, 1] - src[:, 1] * dst[:, 0]).sum() / norm
        mf, mt = points.mean(0), ARCFACE_112.mean(0)
        m = np.array([[a, -b, mt[0] - (a * mf[0] - b * mf[1])], [b, a, mt[1] - (b * mf[0] + a * mf[1])]])
        return cv2.warpAffine(bgr, m, (112, 112), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)

    def embed(self, crops):
        self.embedder.setInput(cv2.dnn.blobFromImages(crops, 1 / 128.0, (112, 112), (127, 127, 127), False, False))
        rows = self.embedder.forward().reshape(len(crops), -1)
        return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)

    def search(self, embeddings):
        names = []
        for e in embeddings:
            scores = self.gallery @ e
            best = np.argsort(-scores)[:2]
            names.append(self.people[best[0]] if len(best) and scores[best[0]] >= 0.35 else "unknown")
        return names

    def identify(self, data):
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        faces = self.boxes(bgr)
        if not faces:
            return []
        crops = [self.align(bgr, self.landmarks5(bgr, f)) for f in faces]
        return self.search(self.embed(crops))


def timed(fn, repeats):
    """Median over `repeats` of the process CPU seconds fn() takes, and its last result."""
    samples, result = [], None
    for _ in range(repeats):
        start = cpu_seconds()
        result = fn()
        samples.append(cpu_seconds() - start)
    return statistics.median(samples), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="+")
    parser.add_argument("--threads", type=int, default=1, help="cv2.setNumThreads")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--gallery", type=int, default=100, help="enrolled faces searched")
    parser.add_argument("--write-frames", metavar="DIR",
                        help="only write each image scaled to 480x480 and padded to a 640x480 JPEG frame")
    args = parser.parse_args()
    if args.write_frames:
        os.makedirs(args.write_frames, exist_ok=True)
        for path in args.images:
            frame = cv2.copyMakeBorder(cv2.resize(cv2.imread(path), (480, 480), interpolation=cv2.INTER_LINEAR),
                                       0, 0, 80, 80, cv2.BORDER_CONSTANT)
            cv2.imwrite(os.path.join(args.write_frames, os.path.basename(path)), frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
        return
    cv2.setNumThreads(args.threads)
    peer = Peer()
    datas = [open(p, "rb").read() for p in args.images]
    images = [cv2.imdecode(np.frombuffer(d, np.uint8), cv2.IMREAD_COLOR) for d in datas]
    faces = [peer.boxes(i) for i in images]
    points = [[peer.landmarks5(i, f) for f in fs] for i, fs in zip(images, faces)]
    crops = [[peer.align(i, p) for p in ps] for i, ps in zip(images, points)]
    embeddings = [peer.embed(c) for c in crops if c]
    # The search stage's gallery: the photos' own faces over and over (its cost does not depend on content).
    faces_seen = np.concatenate(embeddings)
    peer.gallery = faces_seen[np.arange(args.gallery) % len(faces_seen)]
    peer.people = ["person%d" % (i // 4) for i in range(args.gallery)]
    n_faces = sum(len(f) for f in faces)
    peer.identify(datas[0])  # warm-up: first passes allocate

    stages = {
        "decode": lambda: [cv2.imdecode(np.frombuffer(d, np.uint8), cv2.IMREAD_COLOR) for d in datas],
        "detect_boxes": lambda: [peer.boxes(i) for i in images],
        "landmarks": lambda: [peer.landmarks5(i, f) for i, fs in zip(images, faces) for f in fs],
        "align": lambda: [peer.align(i, p) for i, ps in zip(images, points) for p in ps],
        "embed": lambda: [peer.embed(c) for c in crops if c],
        "search": lambda: [peer.search(e) for e in embeddings],
        "end_to_end": lambda: [peer.identify(d) for d in datas],
    }
    wall = time.perf_counter()
    result = {"implementation": "python cv2 " + cv2.__version__, "threads": args.threads, "images": len(datas),
              "faces": n_faces, "repeats": args.repeats, "unit": "CPU ms per image (median of repeats)"}
    for name, fn in stages.items():
        seconds, _ = timed(fn, args.repeats)
        result[name] = round(1000 * seconds / len(datas), 3)
    result["wall_s"] = round(time.perf_counter() - wall, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
