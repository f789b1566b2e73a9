// Python bindings: a thin layer over the C++ API (include/faceid). Each call converts its
// arguments while holding the GIL, then releases it for the library's work, so capture and
// recognition can run in separate Python threads.
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "faceid/config.hpp"
#include "faceid/eval_protocol.hpp"
#include "faceid/faceid.hpp"
#include "faceid/video.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace faceid {
namespace {

// ---- errors ---------------------------------------------------------------------------

constexpr ErrorCode kLastErrorCode = ErrorCode::kInternal;  // keep in step with error.hpp

const char* exception_name(ErrorCode code) {
  switch (code) {  // -Wswitch flags a code added to error.hpp but not here
    case ErrorCode::kBadImage: return "BadImageError";
    case ErrorCode::kNoFace: return "NoFaceError";
    case ErrorCode::kSpoof: return "SpoofError";
    case ErrorCode::kCannotJudge: return "CannotJudgeError";
    case ErrorCode::kNotFound: return "NotFoundError";
    case ErrorCode::kConflict: return "ConflictError";
    case ErrorCode::kCorruptStore: return "CorruptStoreError";
    case ErrorCode::kModelMismatch: return "ModelMismatchError";
    case ErrorCode::kModelInvalid: return "ModelInvalidError";
    case ErrorCode::kBadRequest: return "BadRequestError";
    case ErrorCode::kIo: return "IoError";
    case ErrorCode::kUnavailable: return "UnavailableError";
    case ErrorCode::kUnauthorized: return "UnauthorizedError";
    case ErrorCode::kForbidden: return "ForbiddenError";
    case ErrorCode::kTooLarge: return "TooLargeError";
    case ErrorCode::kOverloaded: return "OverloadedError";
    case ErrorCode::kRequestTimeout: return "RequestTimeoutError";
    case ErrorCode::kInternal: return "InternalError";
  }
  return "Error";
}

// One Python class per ErrorCode, all below faceid.Error; each carries the code's stable name.
// Created once at import and never freed, like every module-level type.
std::vector<PyObject*>& exception_types() {
  static std::vector<PyObject*> types;
  return types;
}

void register_errors(py::module_& m) {
  py::object base = py::reinterpret_steal<py::object>(PyErr_NewExceptionWithDoc(
      "faceid.Error", "A FaceID failure; `code` is the stable name of its ErrorCode (as in the CLI and REST API).",
      nullptr, nullptr));
  base.attr("code") = py::none();
  m.attr("Error") = base;
  for (int c = 0; c <= static_cast<int>(kLastErrorCode); ++c) {
    const auto code = static_cast<ErrorCode>(c);
    const std::string name = exception_name(code);
    PyObject* type = PyErr_NewException(("faceid." + name).c_str(), base.ptr(), nullptr);
    if (!type) throw py::error_already_set();
    py::handle(type).attr("code") = error_code_name(code);
    m.attr(name.c_str()) = py::handle(type);
    exception_types().push_back(type);
  }
  py::register_exception_translator([](std::exception_ptr error) {
    try {
      if (error) std::rethrow_exception(error);
    } catch (const Error& e) {
      PyErr_SetString(exception_types().at(static_cast<std::size_t>(e.code())), e.what());
    }
  });
}

[[noreturn]] void throw_bad_image(const std::string& what) { throw Error(ErrorCode::kBadImage, what); }

// `user_id` was this module's word for what the library, the CLI and REST call `person`; it
// stays for one release as an alias that warns.
constexpr const char* kUserIdDoc = "Deprecated alias of `person` (removed in the next release).";

void warn_user_id() {
  if (PyErr_WarnEx(PyExc_DeprecationWarning, "faceid: `user_id` is deprecated, use `person`", 1) < 0)
    throw py::error_already_set();
}

// ---- images ---------------------------------------------------------------------------

// An image argument: a NumPy uint8 array (H x W, H x W x 1..4, BGR order, as cv2 gives it)
// or a file path. Arrays are wrapped, not copied, when their rows are contiguous; the
// object keeps them alive while the library reads them without the GIL.
class ImageArg {
 public:
  explicit ImageArg(const py::handle& obj) {
    if (py::isinstance<py::str>(obj) || py::hasattr(obj, "__fspath__")) {
      path_ = py::str(py::module_::import("os").attr("fspath")(obj));
      return;
    }
    if (!py::isinstance<py::array_t<std::uint8_t>>(obj))
      throw_bad_image("expected a uint8 NumPy array (BGR, as from cv2) or an image file path");
    auto array = py::reinterpret_borrow<py::array>(obj);
    if (!wrappable(array)) array = py::array_t<std::uint8_t, py::array::c_style>::ensure(array);
    const int channels = array.ndim() == 3 ? static_cast<int>(array.shape(2)) : 1;
    mat_ = cv::Mat(static_cast<int>(array.shape(0)), static_cast<int>(array.shape(1)), CV_8UC(channels),
                   const_cast<void*>(array.data()), static_cast<std::size_t>(array.strides(0)));
    owner_ = std::move(array);
  }

  // The pixels; a path is decoded here, so call it without the GIL.
  cv::Mat pixels(const ImageLimits& limits) const { return path_.empty() ? mat_ : load_image(path_, limits); }

 private:
  // cv::Mat can view rows of packed pixels at any positive row stride.
  static bool wrappable(const py::array& a) {
    if (a.ndim() != 2 && a.ndim() != 3) throw_bad_image("expected an image array of shape (H, W) or (H, W, C)");
    const py::ssize_t channels = a.ndim() == 3 ? a.shape(2) : 1;
    if (channels < 1 || channels > 4) throw_bad_image("expected 1 to 4 channels");
    const bool packed = a.ndim() == 2 ? a.strides(1) == 1 : a.strides(2) == 1 && a.strides(1) == channels;
    return packed && a.strides(0) >= a.shape(1) * channels;
  }

  std::string path_;
  py::object owner_;
  cv::Mat mat_;
};

// Hands a cv::Mat's buffer to NumPy without copying; the array owns the Mat.
py::array to_array(cv::Mat mat) {
  if (mat.depth() != CV_8U) throw std::logic_error("only 8-bit images are returned to Python");
  auto holder = std::make_unique<cv::Mat>(std::move(mat));
  py::capsule release(holder.get(), [](void* p) { delete static_cast<cv::Mat*>(p); });
  const cv::Mat* owned = holder.release();  // the capsule deletes it from now on
  const std::vector<py::ssize_t> shape = {owned->rows, owned->cols, owned->channels()};
  const std::vector<py::ssize_t> strides = {static_cast<py::ssize_t>(owned->step[0]),
                                            static_cast<py::ssize_t>(owned->elemSize()), 1};
  return py::array(py::dtype::of<std::uint8_t>(), shape, strides, owned->data, release);
}

// ---- value conversions ----------------------------------------------------------------

py::tuple box_tuple(const Detection& d) { return py::make_tuple(d.box.x, d.box.y, d.box.width, d.box.height); }

py::tuple landmark_tuple(const Detection& d) {
  py::tuple points(d.landmarks.size());
  for (std::size_t i = 0; i < d.landmarks.size(); ++i) points[i] = py::make_tuple(d.landmarks[i].x, d.landmarks[i].y);
  return points;
}

std::optional<std::string> person_of(const TrackedFace& f) {
  return f.state == IdentityState::kIdentified ? std::optional<std::string>(f.person) : std::nullopt;
}

std::string box_repr(const Detection& d) {
  return py::str("({:.0f}, {:.0f}, {:.0f}, {:.0f})").format(d.box.x, d.box.y, d.box.width, d.box.height);
}

// Unit embeddings as an (n, dim) float32 array.
py::array_t<float> embedding_matrix(const std::vector<Embedding>& embeddings, int dim) {
  py::array_t<float> out({static_cast<py::ssize_t>(embeddings.size()), static_cast<py::ssize_t>(dim)});
  for (std::size_t i = 0; i < embeddings.size(); ++i)
    std::memcpy(out.mutable_data(static_cast<py::ssize_t>(i)), embeddings[i].unit.data(), sizeof(float) * dim);
  return out;
}

// An embedding handed back from Python: a float vector whose length is taken as its norm
// (the library checks its dimension).
Embedding embedding_from(const py::array_t<float, py::array::c_style | py::array::forcecast>& vector) {
  if (vector.ndim() != 1) throw Error(ErrorCode::kBadRequest, "expected a one-dimensional embedding");
  Embedding e;
  e.unit.assign(vector.data(), vector.data() + vector.size());
  e.norm = static_cast<float>(cv::norm(e.unit));
  if (!(e.norm > 0.f)) throw Error(ErrorCode::kBadRequest, "the embedding is zero or not finite");
  for (float& x : e.unit) x /= e.norm;
  return e;
}

// What enroll() accepts per image: a path (read here, named by it), encoded image bytes,
// or a decoded array (stored as PNG: lossless, so the same frame is the same enrollment).
EnrollImage enroll_image(const py::handle& obj, std::size_t index, const ImageLimits& limits) {
  if (py::isinstance<py::bytes>(obj)) {
    const std::string bytes = obj.cast<std::string>();
    return {"bytes[" + std::to_string(index) + "]", {bytes.begin(), bytes.end()}};
  }
  if (py::isinstance<py::array>(obj)) {
    EnrollImage image{"array[" + std::to_string(index) + "]", {}};
    cv::imencode(".png", ImageArg(obj).pixels(limits), image.bytes);
    return image;
  }
  const std::string path = py::str(py::module_::import("os").attr("fspath")(obj));
  return {path, read_file_bytes(path, limits.max_file_bytes)};
}

double monotonic_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// ---- module ---------------------------------------------------------------------------

void bind_values(py::module_& m) {
  py::class_<Detection>(m, "Detection", "A face found by the detector.")
      .def_property_readonly("box", &box_tuple, "(x, y, width, height) in pixels of the input image.")
      .def_readonly("score", &Detection::score, "Detector confidence in [0, 1].")
      .def_property_readonly("landmarks", &landmark_tuple,
                             "Five (x, y) points: left eye, right eye, nose tip, left and right mouth corner.")
      .def("__repr__", [](const Detection& d) {
        return "Detection(box=" + box_repr(d) + ", score=" + py::repr(py::float_(d.score)).cast<std::string>() + ")";
      });

  py::class_<MatchCandidate>(m, "Candidate", "A person of the gallery and their match score.")
      .def_readonly("person", &MatchCandidate::person)
      .def_property_readonly("user_id", [](const MatchCandidate& c) { warn_user_id(); return c.person; }, kUserIdDoc)
      .def_readonly("score", &MatchCandidate::score)
      .def("__repr__", [](const MatchCandidate& c) {
        return py::str("Candidate(person={!r}, score={:.3f})").format(c.person, c.score).cast<std::string>();
      });

  py::class_<LivenessResult>(m, "Liveness", "Whether a face is a live person or an attack (photo, screen).")
      .def_readonly("score", &LivenessResult::score, "Live probability in [0, 1], or None when it cannot be judged.")
      .def_readonly("is_live", &LivenessResult::is_live, "score >= threshold; False when it cannot be judged.")
      .def_readonly("threshold", &LivenessResult::threshold)
      .def_readonly("reason", &LivenessResult::reason, "Why it cannot be judged ('' when judged).")
      .def_property_readonly("status", [](const LivenessResult& r) { return liveness_status(r); },
                             "'live', 'spoof' or 'cannot_judge'.")
      .def("__repr__", [](const LivenessResult& r) {
        return py::str("Liveness(status={!r}, score={!r})").format(liveness_status(r), r.score).cast<std::string>();
      });

  py::class_<FaceResult>(m, "FaceResult", "One face of an image and who it is.")
      .def_readonly("person", &FaceResult::person, "The matched person, or None (unknown: below the threshold).")
      .def_property_readonly("user_id", [](const FaceResult& r) { warn_user_id(); return r.person; }, kUserIdDoc)
      .def_readonly("score", &FaceResult::score, "Score of the best candidate, accepted or not.")
      .def_readonly("threshold", &FaceResult::threshold, "The open-set threshold applied.")
      .def_property_readonly("box", [](const FaceResult& r) { return box_tuple(r.detection); },
                             "(x, y, width, height) in pixels.")
      .def_property_readonly("landmarks", [](const FaceResult& r) { return landmark_tuple(r.detection); },
                             "Five (x, y) facial points.")
      .def_readonly("detection", &FaceResult::detection)
      .def_readonly("best", &FaceResult::best, "Best candidate (even when rejected), or None for an empty gallery.")
      .def_readonly("runner_up", &FaceResult::runner_up, "Second-best distinct person, or None.")
      .def_readonly("liveness", &FaceResult::liveness,
                    "Liveness when checked, else None. A face not judged live has person None.")
      .def("__repr__", [](const FaceResult& r) {
        return py::str("FaceResult(person={!r}, score={:.3f}, box={})")
            .format(r.person, r.score, box_repr(r.detection))
            .cast<std::string>();
      });

  py::class_<VerifyResult>(m, "VerifyResult", "Comparison of the subject face (the largest confident one) of two images.")
      .def_readonly("same_person", &VerifyResult::same_person)
      .def_readonly("score", &VerifyResult::score)
      .def_readonly("threshold", &VerifyResult::threshold, "The 1:1 verification threshold applied.")
      .def_property_readonly("metric", [](const VerifyResult& r) { return metric_name(r.metric); })
      .def_readonly("face_a", &VerifyResult::face_a)
      .def_readonly("face_b", &VerifyResult::face_b)
      .def_readonly("faces_in_a", &VerifyResult::faces_in_a)
      .def_readonly("faces_in_b", &VerifyResult::faces_in_b)
      .def_readonly("liveness_a", &VerifyResult::liveness_a)
      .def_readonly("liveness_b", &VerifyResult::liveness_b)
      .def("__bool__", [](const VerifyResult& r) { return r.same_person; })
      .def("__repr__", [](const VerifyResult& r) {
        return py::str("VerifyResult(same_person={}, score={:.3f}, threshold={:.3f})")
            .format(r.same_person, r.score, r.threshold)
            .cast<std::string>();
      });

  py::class_<EnrollOutcome>(m, "EnrollOutcome", "What happened to one image given to enroll().")
      .def_readonly("source", &EnrollOutcome::source, "The path, or bytes[i] / array[i].")
      .def_property_readonly("status", [](const EnrollOutcome& o) { return enroll_status_name(o.error); },
                             "'enrolled', 'duplicate', 'no_face', 'bad_image', 'spoof' or 'cannot_judge'.")
      .def_property_readonly(
          "code",
          [](const EnrollOutcome& o) -> std::optional<std::string> {
            if (!o.error) return std::nullopt;
            return error_code_name(*o.error);
          },
          "None when enrolled, else the name of the Error code why not ('conflict' for a duplicate).")
      .def_readonly("liveness", &EnrollOutcome::liveness, "Liveness when checked, else None.")
      .def_readonly("faces_found", &EnrollOutcome::faces_found, "More than 1: the largest confident face was taken.")
      .def_readonly("face_id", &EnrollOutcome::face_id)
      .def_readonly("detection", &EnrollOutcome::detection)
      .def_readonly("message", &EnrollOutcome::message, "Why it was skipped, or the owner of a duplicate.")
      .def("__repr__", [](const EnrollOutcome& o) {
        return py::str("EnrollOutcome(source={!r}, status={!r})")
            .format(o.source, enroll_status_name(o.error))
            .cast<std::string>();
      });

  py::class_<PersonInfo>(m, "Person", "An enrolled person.")
      .def_readonly("person", &PersonInfo::name, "The person's name.")
      .def_property_readonly("user_id", [](const PersonInfo& p) { warn_user_id(); return p.name; }, kUserIdDoc)
      .def_readonly("face_count", &PersonInfo::face_count)
      .def_readonly("created_at", &PersonInfo::created_at, "ISO-8601 UTC.")
      .def("__repr__", [](const PersonInfo& p) {
        return py::str("Person(person={!r}, face_count={})").format(p.name, p.face_count).cast<std::string>();
      });

  py::class_<AuditEntry>(m, "AuditEntry", "One write of the gallery's append-only audit log.")
      .def_readonly("id", &AuditEntry::id)
      .def_readonly("at", &AuditEntry::at, "ISO-8601 UTC.")
      .def_readonly("actor", &AuditEntry::actor, "Who: key:ID (REST), cli:USER, python:USER, local:USER.")
      .def_readonly("action", &AuditEntry::action)
      .def_readonly("collection", &AuditEntry::collection)
      .def_readonly("person", &AuditEntry::person)
      .def_readonly("new_name", &AuditEntry::new_name)
      .def_readonly("key_id", &AuditEntry::key_id)
      .def_readonly("face_ids", &AuditEntry::face_ids)
      .def_readonly("face_count", &AuditEntry::face_count)
      .def("__repr__", [](const AuditEntry& e) {
        return py::str("AuditEntry(at={!r}, actor={!r}, action={!r}, person={!r}, face_count={})")
            .format(e.at, e.actor, e.action, e.person, e.face_count)
            .cast<std::string>();
      });

  py::class_<ReindexReport>(m, "ReindexReport")
      .def_readonly("from_model", &ReindexReport::from_model)
      .def_readonly("to_model", &ReindexReport::to_model)
      .def_readonly("faces_reindexed", &ReindexReport::faces_reindexed)
      .def_readonly("faces_without_crop", &ReindexReport::faces_without_crop);

  py::class_<TrackedFace>(m, "TrackedFace", "A face followed across frames, with its voted identity.")
      .def_readonly("track_id", &TrackedFace::track_id)
      .def_property_readonly("person", &person_of, "The decided person, or None while pending or unknown.")
      .def_property_readonly("user_id", [](const TrackedFace& f) { warn_user_id(); return person_of(f); }, kUserIdDoc)
      .def_property_readonly("state", [](const TrackedFace& f) { return identity_state_name(f.state); },
                             "'pending', 'identified', 'unknown' or 'attack'.")
      .def_readonly("live_score", &TrackedFace::live_score, "Mean live score so far (liveness on), or None.")
      .def_readonly("live_samples", &TrackedFace::live_samples)
      .def_readonly("score", &TrackedFace::score, "Mean match score of the votes for the decided identity.")
      .def_property_readonly("box", [](const TrackedFace& f) { return box_tuple(f.detection); })
      .def_property_readonly("landmarks", [](const TrackedFace& f) { return landmark_tuple(f.detection); })
      .def_readonly("detection", &TrackedFace::detection)
      .def_readonly("detected", &TrackedFace::detected, "False: the box is the tracker's prediction.")
      .def_readonly("votes", &TrackedFace::votes)
      .def_readonly("recognitions", &TrackedFace::recognitions)
      .def_readonly("quality", &TrackedFace::quality)
      .def_readonly("first_seen", &TrackedFace::first_seen)
      .def("__repr__", [](const TrackedFace& f) {
        return py::str("TrackedFace(track_id={}, state={!r}, person={!r}, box={})")
            .format(f.track_id, identity_state_name(f.state), person_of(f), box_repr(f.detection))
            .cast<std::string>();
      });

  py::class_<VideoEvent>(m, "VideoEvent")
      .def_property_readonly("type", [](const VideoEvent& e) { return video_event_name(e.type); },
                             "'enter', 'identified' (a person), 'unknown' (nobody enrolled), 'attack' (liveness) or 'leave'.")
      .def_readonly("timestamp", &VideoEvent::timestamp)
      .def_readonly("face", &VideoEvent::face, "The track as it was then.")
      .def("__repr__", [](const VideoEvent& e) {
        return py::str("VideoEvent(type={!r}, track_id={}, person={!r})")
            .format(video_event_name(e.type), e.face.track_id, person_of(e.face))
            .cast<std::string>();
      });

  py::class_<VideoStats>(m, "VideoStats")
      .def_readonly("frames", &VideoStats::frames)
      .def_readonly("detector_runs", &VideoStats::detector_runs)
      .def_readonly("recognitions", &VideoStats::recognitions)
      .def_readonly("liveness_checks", &VideoStats::liveness_checks)
      .def_readonly("tracks", &VideoStats::tracks)
      .def_readonly("scene_cuts", &VideoStats::scene_cuts)
      .def_readonly("last_frame_ms", &VideoStats::last_frame_ms)
      .def_readonly("mean_frame_ms", &VideoStats::mean_frame_ms);
}

// The keyword arguments of Engine(): every key of faceid/config.hpp, read by the library's
// parser from one JSON object (so Python checks and names them exactly as the CLI does).
EngineConfig config_from_kwargs(const py::object& gallery, const py::object& model_dir, const py::kwargs& options) {
  py::dict keys;
  if (!gallery.is_none()) keys["gallery"] = gallery;
  if (!model_dir.is_none()) keys["model_dir"] = model_dir;
  for (const auto& [key, value] : options) keys[key] = value;
  const auto os = py::module_::import("os");
  const std::string text = py::module_::import("json").attr("dumps")(keys, "default"_a = os.attr("fspath")).cast<std::string>();
  return config_from_json(text);
}

// The configuration keys as Python dicts (for help and tools): name, type, help, default and,
// where they apply, choices, min and max.
py::list config_key_list() {
  const EngineConfig defaults;
  py::list keys;
  for (const ConfigKey& key : config_keys()) {
    py::dict entry("name"_a = key.name, "type"_a = config_type_name(key.type), "help"_a = key.help,
                   "default"_a = config_value(defaults, key.name), "aliases"_a = key.aliases);
    if (key.type == ConfigType::kEnum) entry["choices"] = key.choices;
    if (key.type == ConfigType::kInt || key.type == ConfigType::kFloat) {
      entry["min"] = key.min;
      entry["max"] = key.max;
    }
    keys.append(entry);
  }
  return keys;
}

std::string engine_doc() {
  std::string doc = R"doc(
Opens the gallery and loads the models (once).

gallery: SQLite file (created when missing), ":memory:", or None for the default
($FACEID_GALLERY, else ~/.local/share/faceid/gallery.db). model_dir: None = installed models
($FACEID_MODEL_DIR, else ~/.cache/faceid/models). Every other configuration key (the CLI's
--key-name flags, `faceid serve --config` files; faceid.config_keys() lists them) is a keyword
argument; an unknown key or a bad value raises BadRequestError naming it.
)doc";
  for (const ConfigKey& key : config_keys()) doc += "\n" + key.name + ": " + key.help;
  return doc;
}

std::vector<EnrollOutcome> enroll_images(Engine& e, const std::string& person, const py::iterable& images,
                                         bool strict) {
  std::vector<EnrollImage> batch;
  for (const auto& image : images) batch.push_back(enroll_image(image, batch.size(), e.config().limits));
  py::gil_scoped_release nogil;
  return e.enroll(person, batch, strict);
}

// ---------------------------------------------------------------- evaluation protocols

py::object json_to_python(const nlohmann::json& value) {
  return py::module_::import("json").attr("loads")(value.dump());
}

// The options every protocol shares; every keyword that is not one of them is an Engine()
// configuration key (the models and embedding settings evaluated), checked by the same parser.
void fill_protocol(eval::ProtocolOptions& request, const py::object& root, int limit, int threads,
                   const py::object& cache, const py::object& by_group, const std::string& norm,
                   const py::object& cohort, int cohort_top_k, const py::object& model_dir, const py::kwargs& config) {
  const auto text = [](const py::object& value) {
    return value.is_none() ? std::string() : py::module_::import("os").attr("fsdecode")(value).cast<std::string>();
  };
  request.base = config_from_kwargs(py::none(), model_dir, config);
  request.root = text(root);
  request.limit = limit;
  request.threads = threads;
  if (py::isinstance<py::bool_>(cache)) {  // False: no cache; True: the default one
    if (!cache.cast<bool>()) request.cache_path = "";
  } else if (!cache.is_none()) {
    request.cache_path = text(cache);
  }
  request.progress = false;
  request.group_manifest = text(by_group);
  request.norm.norm = score_norm_from_name(norm, "norm");
  request.norm.top_k = cohort_top_k;
  request.cohort_dir = text(cohort);
}

// One path (str, bytes or os.PathLike) or an iterable of them; Error(kBadRequest) for none.
std::vector<std::string> path_list(const py::object& paths) {
  const auto fsdecode = py::module_::import("os").attr("fsdecode");
  std::vector<std::string> out;
  const bool one = py::isinstance<py::str>(paths) || py::isinstance<py::bytes>(paths) || py::hasattr(paths, "__fspath__");
  for (const auto& path : one ? py::tuple(py::make_tuple(paths)) : py::tuple(paths))
    out.push_back(fsdecode(path).cast<std::string>());
  if (out.empty()) throw Error(ErrorCode::kBadRequest, "no path given");
  return out;
}

std::string one_path(const py::object& path, const char* what) {
  const auto paths = path_list(path);
  if (paths.size() != 1) throw Error(ErrorCode::kBadRequest, std::string(what) + " is one path, got " +
                                                                 std::to_string(paths.size()));
  return paths.front();
}

template <typename Report>
py::dict report_dict(const Report& report) {
  py::list rows, failures;
  for (const auto& row : report.rows) rows.append(json_to_python(eval::to_json(row)));
  for (const auto& failure : report.failures) failures.append(json_to_python(eval::to_json(failure)));
  return py::dict("results"_a = rows, "failures"_a = failures, "notes"_a = report.notes);
}

void bind_eval(py::module_& m) {
  auto ev = m.def_submodule("_eval", "Evaluation protocols; use the faceid.eval module.");
  ev.def(
      "verify",
      [](const py::object& pairs, int folds, const py::object& root, int limit, int threads, const py::object& cache,
         const py::object& by_group, const std::string& norm, const py::object& cohort, int cohort_top_k,
         const py::object& model_dir, const py::kwargs& config) {
        eval::VerificationRequest request;
        fill_protocol(request, root, limit, threads, cache, by_group, norm, cohort, cohort_top_k, model_dir, config);
        request.pair_files = path_list(pairs);
        request.folds = folds;
        const auto report = [&] {
          py::gil_scoped_release nogil;
          return eval::run_verification(request);
        }();
        return report_dict(report);
      },
      "pairs"_a, "folds"_a = 10, "root"_a = py::none(), "limit"_a = 0, "threads"_a = 0, "cache"_a = py::none(),
      "by_group"_a = py::none(), "norm"_a = "none", "cohort"_a = py::none(), "cohort_top_k"_a = NormOptions{}.top_k,
      "model_dir"_a = py::none());
  ev.def(
      "identify",
      [](const py::object& protocol, const py::object& unknown_dir, const std::vector<int>& gallery_sizes,
         const py::object& root, int limit, int threads, const py::object& cache, const py::object& by_group,
         const std::string& norm, const py::object& cohort, int cohort_top_k, const py::object& model_dir,
         const py::kwargs& config) {
        eval::IdentificationRequest request;
        fill_protocol(request, root, limit, threads, cache, by_group, norm, cohort, cohort_top_k, model_dir, config);
        request.protocol_file = one_path(protocol, "protocol");
        if (!unknown_dir.is_none()) request.unknown_dir = one_path(unknown_dir, "unknown_dir");
        request.gallery_sizes = gallery_sizes;
        const auto report = [&] {
          py::gil_scoped_release nogil;
          return eval::run_identification(request);
        }();
        return report_dict(report);
      },
      "protocol"_a, "unknown_dir"_a = py::none(), "gallery_sizes"_a = std::vector<int>{1, 5, 20, 0},
      "root"_a = py::none(), "limit"_a = 0, "threads"_a = 0, "cache"_a = py::none(), "by_group"_a = py::none(),
      "norm"_a = "none", "cohort"_a = py::none(), "cohort_top_k"_a = NormOptions{}.top_k,
      "model_dir"_a = py::none());
}

void bind_engine(py::module_& m) {
  const EngineConfig defaults;
  static const std::string doc = engine_doc();  // pybind11 keeps the pointer
  py::class_<Engine>(m, "Engine", R"doc(
Detection, alignment, embedding and gallery search behind one object; thread-safe.

    engine = faceid.Engine(gallery="faces.db", min_face_size=40)
    engine.enroll("alice", ["a1.jpg", "a2.jpg"])
    for face in engine.identify(frame):   # frame: BGR uint8 array from cv2
        print(face.person or "unknown", face.score, face.box)

Images are NumPy uint8 arrays in BGR order (no copy when rows are contiguous) or file paths.
The GIL is released while the library works.)doc")
      .def(py::init([](const py::object& gallery, const py::object& model_dir, const py::kwargs& options) {
             const EngineConfig config = config_from_kwargs(gallery, model_dir, options);
             py::gil_scoped_release nogil;  // loading models takes a while
             auto engine = Engine::open(config);
             engine->set_audit_actor(local_audit_actor("python"));
             return engine;
           }),
           "gallery"_a = py::none(), "model_dir"_a = py::none(), doc.c_str())
      .def(
          "identify",
          [](const Engine& e, const py::handle& image, std::optional<bool> liveness) {
            const ImageArg arg(image);
            py::gil_scoped_release nogil;
            return e.identify(arg.pixels(e.config().limits), liveness.value_or(e.config().liveness.enabled));
          },
          "image"_a, "liveness"_a = py::none(),
          "Every face of a BGR image with its best match, or person None when unknown. liveness: check each "
          "face (None = the engine's setting); a face not judged live gets person None and .liveness says why.")
      .def(
          "detect",
          [](const Engine& e, const py::handle& image) {
            const ImageArg arg(image);
            py::gil_scoped_release nogil;
            return e.detect(arg.pixels(e.config().limits));
          },
          "image"_a, "Faces of an image, largest first.")
      .def(
          "embed",
          [](const Engine& e, const py::handle& image, std::optional<std::vector<Detection>> faces) {
            const ImageArg arg(image);
            std::vector<Embedding> embeddings;
            {
              py::gil_scoped_release nogil;
              const cv::Mat pixels = arg.pixels(e.config().limits);
              if (!faces) faces = e.detect(pixels);
              embeddings = e.embed(pixels, *faces);
            }
            const int dim = embeddings.empty() ? 0 : static_cast<int>(embeddings.front().unit.size());
            return embedding_matrix(embeddings, dim);
          },
          "image"_a, "faces"_a = py::none(),
          "Unit-length embeddings (n x dim float32) of the given detections, or of every face when None.")
      .def(
          "match",
          [](const Engine& e, const py::array_t<float, py::array::c_style | py::array::forcecast>& embedding,
             int candidates) {
            const Embedding query = embedding_from(embedding);
            py::gil_scoped_release nogil;
            return e.match(query, candidates);
          },
          "embedding"_a, "candidates"_a = defaults.candidates,
          "Searches the gallery for one embedding (a row of embed()).")
      .def(
          "verify",
          [](const Engine& e, const py::handle& a, const py::handle& b) {
            const ImageArg arg_a(a), arg_b(b);
            py::gil_scoped_release nogil;
            return e.verify(arg_a.pixels(e.config().limits), arg_b.pixels(e.config().limits));
          },
          "a"_a, "b"_a, "Compares the subject face (the largest confident one) of each image. NoFaceError when one has none.")
      .def(
          "aligned_crop",
          [](const Engine& e, const py::handle& image, const Detection& face) {
            const ImageArg arg(image);
            cv::Mat crop;
            {
              py::gil_scoped_release nogil;
              crop = e.aligned_crop(arg.pixels(e.config().limits), face);
            }
            return to_array(std::move(crop));
          },
          "image"_a, "face"_a, "The aligned BGR crop the embedder sees for a detection.")
      .def("enroll", &enroll_images, "person"_a, "images"_a, "strict"_a = false, R"doc(
Enrolls the largest confident face of each image (path, encoded bytes or BGR array) under person, in one
transaction. Images without a face or unreadable are reported in the outcomes, not enrolled;
with strict=True any of them aborts the whole enrollment with an exception.)doc")
      .def(
          "enroll",
          [](Engine& e, const std::string& user_id, const py::iterable& images, bool strict) {
            warn_user_id();
            return enroll_images(e, user_id, images, strict);
          },
          py::kw_only(), "user_id"_a, "images"_a, "strict"_a = false, kUserIdDoc)
      .def("people", &Engine::people, py::call_guard<py::gil_scoped_release>(), "Every enrolled person.")
      .def("remove_person", &Engine::remove_person, py::call_guard<py::gil_scoped_release>(), "person"_a,
           "NotFoundError when unknown.")
      .def("rename_person", &Engine::rename_person, py::call_guard<py::gil_scoped_release>(), "old"_a, "new"_a,
           "NotFoundError / ConflictError.")
      .def("export_embeddings", &Engine::export_embeddings, py::call_guard<py::gil_scoped_release>(), "path"_a,
           "Writes every person's embeddings (no photos) as JSON.")
      .def("import_embeddings", &Engine::import_embeddings, py::call_guard<py::gil_scoped_release>(), "path"_a,
           "Adds the embeddings of an export file; returns how many faces.")
      .def("reindex", &Engine::reindex, py::call_guard<py::gil_scoped_release>(),
           "Recomputes every embedding with this engine's model from the stored crops.")
      .def_property_readonly("threshold", &Engine::threshold, "The 1:N open-set threshold of identify().")
      .def_property_readonly("metric", [](const Engine& e) { return metric_name(e.metric()); })
      .def_property_readonly("model_id", &Engine::embedder_model_id, "The embedding model stored with every face.")
      .def_property_readonly("gallery", [](const Engine& e) { return e.config().gallery; })
      .def_property_readonly(
          "config",
          [](const Engine& e) { return py::module_::import("json").attr("loads")(config_to_json(e.config())); },
          "Every configuration key's value (a dict; Engine(**engine.config) opens the same setup).");
}

void bind_video(py::module_& m) {
  const VideoOptions defaults;
  py::class_<VideoIdentifier>(m, "VideoIdentifier", R"doc(
Who is in view, frame after frame, inside the caller's own capture loop: tracks faces between
detections and votes over several recognitions per track.

    video = faceid.VideoIdentifier(engine)
    while True:
        ok, frame = capture.read()
        for face in video.process(frame):
            print(face.track_id, face.person)
        for event in video.take_events():
            print(event.type, event.face.person))doc")
      .def(py::init([](const Engine& engine, int detect_every, int recheck_every, float recheck_quality_gain,
                       float min_quality, int vote_window, int votes_to_decide, float min_vote_share,
                       int max_recognitions_per_frame, float scene_cut_threshold, bool liveness, int liveness_frames) {
             VideoOptions options;
             options.liveness = liveness;
             options.liveness_frames = liveness_frames;
             options.detect_every = detect_every;
             options.recheck_every = recheck_every;
             options.recheck_quality_gain = recheck_quality_gain;
             options.min_quality = min_quality;
             options.vote_window = vote_window;
             options.votes_to_decide = votes_to_decide;
             options.min_vote_share = min_vote_share;
             options.max_recognitions_per_frame = max_recognitions_per_frame;
             options.scene_cut_threshold = scene_cut_threshold;
             return std::make_unique<VideoIdentifier>(engine, options);
           }),
           py::keep_alive<1, 2>(),  // the identifier uses the engine until it is gone
           "engine"_a, py::kw_only(), "detect_every"_a = defaults.detect_every,
           "recheck_every"_a = defaults.recheck_every, "recheck_quality_gain"_a = defaults.recheck_quality_gain,
           "min_quality"_a = defaults.min_quality, "vote_window"_a = defaults.vote_window,
           "votes_to_decide"_a = defaults.votes_to_decide, "min_vote_share"_a = defaults.min_vote_share,
           "max_recognitions_per_frame"_a = defaults.max_recognitions_per_frame,
           "scene_cut_threshold"_a = defaults.scene_cut_threshold, "liveness"_a = defaults.liveness,
           "liveness_frames"_a = defaults.liveness_frames,
           "Options as in include/faceid/video.hpp (VideoOptions); scene_cut_threshold=0 for a fixed camera.")
      .def(
          "process",
          [](VideoIdentifier& v, const py::handle& frame, std::optional<double> timestamp) {
            const ImageArg arg(frame);
            py::gil_scoped_release nogil;
            return v.process(arg.pixels({}), timestamp.value_or(monotonic_seconds()));
          },
          "frame"_a, "timestamp"_a = py::none(), R"doc(
Processes one frame (BGR; grayscale and BGRA are converted) taken at `timestamp` seconds
(default: now, on the clock of time.monotonic()); returns the confirmed tracks in view.)doc")
      .def("take_events", &VideoIdentifier::take_events, py::call_guard<py::gil_scoped_release>(),
           "Enter / identified / leave events since the previous call, oldest first.")
      .def(
          "finish",
          [](VideoIdentifier& v, std::optional<double> timestamp) {
            py::gil_scoped_release nogil;
            v.finish(timestamp.value_or(monotonic_seconds()));
          },
          "timestamp"_a = py::none(), "Ends every track (the stream is over): queues their leave events.")
      .def_property_readonly("stats", &VideoIdentifier::stats);
}

}  // namespace
}  // namespace faceid

PYBIND11_MODULE(_faceid, m) {
  using namespace faceid;
  m.doc() = "FaceID face identification engine (C++ library bindings).";
  m.attr("__version__") = FACEID_VERSION;
  register_errors(m);
  bind_values(m);
  bind_engine(m);
  bind_video(m);
  bind_eval(m);
  m.def(
      "load_image",
      [](const std::string& path) {
        cv::Mat image;
        {
          py::gil_scoped_release nogil;
          image = load_image(path);
        }
        return to_array(std::move(image));
      },
      "path"_a, "Decodes an image file (EXIF orientation applied) into a BGR uint8 array.");
  m.def(
      "audit",
      [](const py::object& gallery, const std::string& since, int limit) {
        const std::string uri = gallery.is_none() ? default_gallery_path() : py::str(gallery).cast<std::string>();
        py::gil_scoped_release nogil;
        return open_store(uri)->audit({since, limit});
      },
      "gallery"_a = py::none(), "since"_a = "", "limit"_a = 100,
      "The gallery's audit log, newest first: writes at or after `since` (ISO-8601 UTC), at most `limit` (1-1000).");
  m.def("default_gallery_path", &default_gallery_path);
  m.def("config_keys", &config_key_list, "Every configuration key Engine() accepts, as dicts (name, type, help, default, ...).");
  m.def("default_model_dir", &default_model_dir);
}
