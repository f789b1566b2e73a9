# Type stubs of the faceid extension (python/src/faceid_module.cpp), for editors and type checkers.
import os
from typing import Any, Iterable, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str

# A BGR uint8 array (H x W x 3, as cv2 gives it; no copy when its rows are contiguous) or a file path.
_Image = Union[npt.NDArray[np.uint8], str, os.PathLike[str]]
# What enroll() takes per image: a path, encoded image bytes, or a BGR array.
_EnrollSource = Union[str, os.PathLike[str], bytes, npt.NDArray[np.uint8]]
_Box = Tuple[float, float, float, float]  # x, y, width, height in pixels
_Landmarks = Tuple[Tuple[float, float], ...]  # left eye, right eye, nose tip, left and right mouth corner

class Error(Exception):
    """A FaceID failure; `code` is the stable name of its ErrorCode (as in the CLI and REST API)."""
    code: Optional[str]

class BadImageError(Error): ...  # code "bad_image"
class NoFaceError(Error): ...  # "no_face"
class SpoofError(Error): ...  # "spoof"
class CannotJudgeError(Error): ...  # "cannot_judge"
class NotFoundError(Error): ...  # "not_found"
class ConflictError(Error): ...  # "conflict"
class CorruptStoreError(Error): ...  # "corrupt_store"
class ModelMismatchError(Error): ...  # "model_mismatch"
class ModelInvalidError(Error): ...  # "model_invalid"
class BadRequestError(Error): ...  # "bad_request"
class IoError(Error): ...  # "io_error"
class UnavailableError(Error): ...  # "unavailable"
class UnauthorizedError(Error): ...  # "unauthorized"
class ForbiddenError(Error): ...  # "forbidden"
class TooLargeError(Error): ...  # "too_large"
class OverloadedError(Error): ...  # "overloaded"
class RequestTimeoutError(Error): ...  # "request_timeout"
class InternalError(Error): ...  # "internal"

class Detection:
    """A face found by the detector."""
    @property
    def box(self) -> _Box: ...
    @property
    def score(self) -> float: ...
    @property
    def landmarks(self) -> _Landmarks: ...

class Candidate:
    """A person of the gallery and their match score."""
    @property
    def person(self) -> str: ...
    @property
    def user_id(self) -> str:
        """Deprecated alias of `person` (removed in the next release)."""
    @property
    def score(self) -> float: ...

class Liveness:
    """Whether a face is a live person or an attack (photo, screen)."""
    @property
    def score(self) -> Optional[float]:
        """Live probability in [0, 1], or None when it cannot be judged."""
    @property
    def is_live(self) -> bool: ...
    @property
    def threshold(self) -> float: ...
    @property
    def reason(self) -> str:
        """Why it cannot be judged ('' when judged)."""
    @property
    def status(self) -> str:
        """'live', 'spoof' or 'cannot_judge'."""

class FaceResult:
    """One face of an image and who it is."""
    @property
    def person(self) -> Optional[str]:
        """The matched person, or None (unknown: below the threshold)."""
    @property
    def user_id(self) -> Optional[str]:
        """Deprecated alias of `person` (removed in the next release)."""
    @property
    def score(self) -> float: ...
    @property
    def threshold(self) -> float: ...
    @property
    def box(self) -> _Box: ...
    @property
    def landmarks(self) -> _Landmarks: ...
    @property
    def detection(self) -> Detection: ...
    @property
    def best(self) -> Optional[Candidate]: ...
    @property
    def runner_up(self) -> Optional[Candidate]: ...
    @property
    def liveness(self) -> Optional[Liveness]:
        """Liveness when checked, else None. A face not judged live has person None."""

class VerifyResult:
    """Comparison of the subject face (the largest confident one) of two images; true when they are the same person."""
    @property
    def same_person(self) -> bool: ...
    @property
    def score(self) -> float: ...
    @property
    def threshold(self) -> float: ...
    @property
    def metric(self) -> str: ...
    @property
    def face_a(self) -> Detection: ...
    @property
    def face_b(self) -> Detection: ...
    @property
    def faces_in_a(self) -> int: ...
    @property
    def faces_in_b(self) -> int: ...
    @property
    def liveness_a(self) -> Optional[Liveness]: ...
    @property
    def liveness_b(self) -> Optional[Liveness]: ...
    def __bool__(self) -> bool: ...

class EnrollOutcome:
    """What happened to one image given to enroll()."""
    @property
    def source(self) -> str: ...
    @property
    def status(self) -> str:
        """'enrolled', 'duplicate', 'no_face', 'bad_image', 'spoof' or 'cannot_judge'."""
    @property
    def code(self) -> Optional[str]:
        """None when enrolled, else the name of the Error code why not ('conflict' for a duplicate)."""
    @property
    def faces_found(self) -> int: ...
    @property
    def face_id(self) -> Optional[int]: ...
    @property
    def detection(self) -> Optional[Detection]: ...
    @property
    def message(self) -> str: ...
    @property
    def liveness(self) -> Optional[Liveness]: ...

class Person:
    """An enrolled person."""
    @property
    def person(self) -> str:
        """The person's name."""
    @property
    def user_id(self) -> str:
        """Deprecated alias of `person` (removed in the next release)."""
    @property
    def face_count(self) -> int: ...
    @property
    def created_at(self) -> str: ...

class AuditEntry:
    """One write of the gallery's append-only audit log."""
    id: int
    at: str
    actor: str
    action: str
    collection: str
    person: str
    new_name: str
    key_id: str
    face_ids: list[int]
    face_count: int

class ReindexReport:
    @property
    def from_model(self) -> str: ...
    @property
    def to_model(self) -> str: ...
    @property
    def faces_reindexed(self) -> int: ...
    @property
    def faces_without_crop(self) -> int: ...

class TrackedFace:
    """A face followed across frames, with its voted identity."""
    @property
    def track_id(self) -> int: ...
    @property
    def person(self) -> Optional[str]:
        """The decided person, or None while pending or unknown."""
    @property
    def user_id(self) -> Optional[str]:
        """Deprecated alias of `person` (removed in the next release)."""
    @property
    def state(self) -> str:
        """'pending', 'identified', 'unknown' or 'attack'."""
    @property
    def live_score(self) -> Optional[float]:
        """Mean live score so far (liveness on), or None."""
    @property
    def live_samples(self) -> int: ...
    @property
    def score(self) -> float: ...
    @property
    def box(self) -> _Box: ...
    @property
    def landmarks(self) -> _Landmarks: ...
    @property
    def detection(self) -> Detection: ...
    @property
    def detected(self) -> bool: ...
    @property
    def votes(self) -> int: ...
    @property
    def recognitions(self) -> int: ...
    @property
    def quality(self) -> float: ...
    @property
    def first_seen(self) -> float: ...

class VideoEvent:
    @property
    def type(self) -> str:
        """'enter', 'identified', 'leave' or 'attack'."""
    @property
    def timestamp(self) -> float: ...
    @property
    def face(self) -> TrackedFace: ...

class VideoStats:
    @property
    def frames(self) -> int: ...
    @property
    def detector_runs(self) -> int: ...
    @property
    def recognitions(self) -> int: ...
    @property
    def liveness_checks(self) -> int: ...
    @property
    def tracks(self) -> int: ...
    @property
    def scene_cuts(self) -> int: ...
    @property
    def last_frame_ms(self) -> float: ...
    @property
    def mean_frame_ms(self) -> float: ...

class Engine:
    """Detection, alignment, embedding and gallery search behind one object; thread-safe.

    Every method releases the GIL while the library works."""
    def __init__(
        self,
        gallery: Optional[str] = None,
        model_dir: Optional[str] = None,
        **options: Union[str, int, float, bool, None, Sequence[str]],
    ) -> None:
        """Opens the gallery (a SQLite file, ":memory:", or None for the default) and loads the models.

        options: any configuration key (config_keys() lists them with type, range and default; the CLI's
        --key-name flags and `faceid serve --config` files are the same keys), e.g. min_face_size=40,
        metric="cosine", score_norm="asnorm", hnsw_m=32, max_image_pixels=50_000_000. An unknown key
        or a bad value raises BadRequestError naming it."""
    def identify(self, image: _Image, liveness: Optional[bool] = None) -> list[FaceResult]:
        """Every face of a BGR image with its best match, or person None when unknown.

        liveness: check each face (None = the engine's setting); a face not judged live gets person None."""
    def detect(self, image: _Image) -> list[Detection]:
        """Faces of an image, largest first."""
    def embed(self, image: _Image, faces: Optional[Sequence[Detection]] = None) -> npt.NDArray[np.float32]:
        """Unit-length embeddings (n x dim float32) of the given detections, or of every face when None."""
    def match(self, embedding: npt.ArrayLike, candidates: int = 2) -> FaceResult:
        """Searches the gallery for one embedding (a row of embed())."""
    def verify(self, a: _Image, b: _Image) -> VerifyResult:
        """Compares the subject face (the largest confident one) of each image. NoFaceError when one has none."""
    def aligned_crop(self, image: _Image, face: Detection) -> npt.NDArray[np.uint8]:
        """The aligned BGR crop the embedder sees for a detection."""
    def enroll(self, person: str, images: Iterable[_EnrollSource], strict: bool = False) -> list[EnrollOutcome]:
        """Enrolls the largest confident face of each image under person, in one transaction.

        enroll(user_id=..., images=...) is accepted too, deprecated (removed in the next release)."""
    def people(self) -> list[Person]: ...
    def remove_person(self, person: str) -> None: ...
    def rename_person(self, old: str, new: str) -> None: ...
    def export_embeddings(self, path: str) -> None: ...
    def import_embeddings(self, path: str) -> int: ...
    def reindex(self) -> ReindexReport: ...
    @property
    def threshold(self) -> float:
        """The 1:N open-set threshold of identify()."""
    @property
    def metric(self) -> str: ...
    @property
    def model_id(self) -> str: ...
    @property
    def gallery(self) -> str: ...
    @property
    def config(self) -> dict[str, Any]:
        """Every configuration key's value; Engine(**engine.config) opens the same setup."""

class VideoIdentifier:
    """Who is in view, frame after frame, inside the caller's own capture loop."""
    def __init__(
        self,
        engine: Engine,
        *,
        detect_every: int = 2,
        recheck_every: int = 15,
        recheck_quality_gain: float = 0.1,
        min_quality: float = 0.2,
        vote_window: int = 9,
        votes_to_decide: int = 2,
        min_vote_share: float = 0.5,
        max_recognitions_per_frame: int = 4,
        scene_cut_threshold: float = 5.0,
        liveness: bool = False,
        liveness_frames: int = 3,
    ) -> None: ...
    def process(self, frame: _Image, timestamp: Optional[float] = None) -> list[TrackedFace]:
        """Processes one frame taken at `timestamp` seconds (default: time.monotonic()); returns the tracks in view."""
    def take_events(self) -> list[VideoEvent]: ...
    def finish(self, timestamp: Optional[float] = None) -> None: ...
    @property
    def stats(self) -> VideoStats: ...

def load_image(path: str) -> npt.NDArray[np.uint8]:
    """Decodes an image file (EXIF orientation applied) into a BGR uint8 array."""

def audit(gallery: Optional[str] = None, since: str = "", limit: int = 100) -> list[AuditEntry]:
    """The gallery's audit log, newest first: writes at or after `since` (ISO-8601 UTC), at most `limit` (1-1000)."""
def default_gallery_path() -> str: ...
def default_model_dir() -> str: ...
def config_keys() -> list[dict[str, Any]]:
    """Every configuration key Engine() accepts: name, type, help, default, aliases, and choices / min / max."""
