"""FaceID face identification from Python: bindings over the C++ library (include/faceid).

    import faceid
    engine = faceid.Engine(gallery="faces.db")
    engine.enroll("alice", ["a1.jpg", "a2.jpg"])
    for face in engine.identify(frame):  # frame: BGR uint8 NumPy array, e.g. from cv2.VideoCapture
        print(face.person or "unknown", face.score, face.box)

See docs/python.md. Editors read the type stubs in __init__.pyi.
"""
from ._faceid import *  # noqa: F401,F403  (the whole API lives in the extension)
from ._faceid import __version__  # noqa: F401
