// Live video: identification per second, enrollment capture, sources and `faceid watch`, on clips
// made from the installed sample photos always, and on the real clip of ../shared/datasets/video_dev
// (against its annotations.tsv) where present.
#include "faceid/video.hpp"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/videoio.hpp>

#include "faceid/error.hpp"
#include "faceid/metric.hpp"
#include "sample_people.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace faceid {
namespace {

const char* const kClip = "short_hamilton_clip.mp4";

// Reference stills of video_dev/references and the gallery names they enroll as.
const std::vector<std::pair<std::string, std::string>> kReferences = {
    {"lin_manuel_miranda", "lin_manuel_miranda.png"},
    {"alex_lacamoire", "alex_lacamoire.png"},
    {"barack_obama", "barack_obama_1.jpg"},
    {"barack_obama", "barack_obama_2.jpg"}};

std::unique_ptr<Engine> engine_with_references(const std::string& video_dev, const std::string& tag) {
  EngineConfig config;
  config.gallery = (fs::path(test::temp_dir(tag)) / "gallery.db").string();
  auto engine = Engine::open(config);
  for (const auto& [person, file] : kReferences) {
    const std::string path = (fs::path(video_dev) / "references" / file).string();
    const auto outcome = engine->enroll(person, {{path, read_file_bytes(path, 64u << 20)}});
    EXPECT_EQ(outcome.at(0).error, std::nullopt) << path;
  }
  return engine;
}

// annotations.tsv: "first-last <TAB> names; (unreferenced, ...) <TAB> note" per row.
// Seconds whose names carry a '?' are uncertain and are left out of the scoring.
struct Annotations {
  std::map<int, std::set<std::string>> expected;  // second -> enrolled people in view
  std::set<int> uncertain;
};

Annotations read_annotations(const std::string& path, const std::set<std::string>& enrolled) {
  Annotations annotations;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream row(line);
    std::string span, names;
    std::getline(row, span, '\t');
    std::getline(row, names, '\t');
    const auto dash = span.find('-');
    const int first = std::stoi(span.substr(0, dash)), last = std::stoi(span.substr(dash + 1));
    for (int second = first; second <= last; ++second) {
      annotations.expected[second];
      if (names.find('?') != std::string::npos) annotations.uncertain.insert(second);
      for (const auto& person : enrolled)
        if (names.find(person) != std::string::npos) annotations.expected[second].insert(person);
    }
  }
  return annotations;
}

// The labelled sample people for clips (tests/sample_people.hpp): alice enrolled from sample1.jpg and
// bea from sample4.jpg, and cut-outs to film: alice's face from each of her photos.
struct SamplePeople {
  std::unique_ptr<Engine> engine;
  cv::Mat alice_in_sample1, alice_in_sample3;
};

SamplePeople sample_people(const std::string& tag) {
  EngineConfig config;
  config.gallery = test::temp_dir(tag) + "/gallery.db";
  SamplePeople people{Engine::open(config), {}, {}};
  for (const auto& [person, i] : std::vector<std::pair<std::string, int>>{{"alice", 1}, {"bea", 4}}) {
    const std::string photo = test::sample_photo(i);
    EXPECT_EQ(people.engine->enroll(person, {{photo, read_file_bytes(photo, 64u << 20)}}).at(0).error,
              std::nullopt);
  }
  for (const auto& [cut, i] : {std::pair{&people.alice_in_sample1, 1}, std::pair{&people.alice_in_sample3, 3}}) {
    const cv::Mat photo = load_image(test::sample_photo(i));
    const auto faces = people.engine->detect(photo);
    EXPECT_FALSE(faces.empty());
    if (!faces.empty()) *cut = test::face_cut(photo, faces[test::largest_face(faces)]);
  }
  return people;
}

// The people named in each second of `clip` against the truth: precision, recall, the order of
// each track's events and how soon a new face is named.
void expect_named_per_second(const Engine& engine, const std::string& clip, const Annotations& annotations,
                             int min_first_identifications) {
  VideoIdentifier video(engine);  // defaults: detector every 2nd frame
  VideoSource source(clip);
  std::map<int, std::set<std::string>> named;  // second -> names given to tracks in view
  std::vector<VideoEvent> events;
  cv::Mat frame;
  double t = 0.;
  while (source.read(frame, t)) {
    std::map<std::string, int> tracks_named;  // each person is in view once
    for (const auto& face : video.process(frame, t)) {
      if (face.state != IdentityState::kIdentified) continue;
      named[int(t)].insert(face.person);
      EXPECT_LE(++tracks_named[face.person], 1) << "two faces named " << face.person << " at t=" << t;
    }
    for (auto& event : video.take_events()) events.push_back(std::move(event));
  }
  video.finish(t);
  for (auto& event : video.take_events()) events.push_back(std::move(event));

  // Precision: a name given in second s must be annotated within one second of s (the
  // annotations were read from one frame per second). Recall: each annotated person
  // must be named in that very second.
  int predicted = 0, correct = 0, expected = 0, recalled = 0;
  for (const auto& [second, people] : annotations.expected) {
    if (annotations.uncertain.count(second)) continue;
    for (const auto& person : named[second]) {
      ++predicted;
      bool nearby = false;
      for (int s = second - 1; s <= second + 1; ++s)
        nearby = nearby || (annotations.expected.count(s) && annotations.expected.at(s).count(person));
      correct += nearby ? 1 : 0;
      if (!nearby) ADD_FAILURE() << "named " << person << " at second " << second;
    }
    for (const auto& person : people) {
      ++expected;
      recalled += named[second].count(person) ? 1 : 0;
    }
  }
  const double precision = predicted ? double(correct) / predicted : 0.;
  const double recall = expected ? double(recalled) / expected : 0.;
  std::printf("%s per-second precision %.3f (%d/%d), recall %.3f (%d/%d)\n", clip.c_str(), precision, correct,
              predicted, recall, recalled, expected);
  ::testing::Test::RecordProperty("precision", std::to_string(precision));
  ::testing::Test::RecordProperty("recall", std::to_string(recall));
  EXPECT_GE(precision, 0.95);
  EXPECT_GE(recall, 0.85);  // video_dev: 7 of 8 measured, one more missed second fails

  // Events come in order per track: enter, then decisions, then exactly one leave.
  std::map<int, std::vector<VideoEventType>> per_track;
  for (const auto& event : events) per_track[event.face.track_id].push_back(event.type);
  ASSERT_FALSE(per_track.empty());
  for (const auto& [track, types] : per_track) {
    EXPECT_EQ(types.front(), VideoEventType::kEnter) << "track " << track;
    EXPECT_EQ(types.back(), VideoEventType::kLeave) << "track " << track;
    EXPECT_EQ(std::count(types.begin(), types.end(), VideoEventType::kLeave), 1) << "track " << track;
  }
  // A new face is named within 300 ms of video time after its track appears.
  std::map<int, double> entered;
  int first_identifications = 0;
  for (const auto& event : events) {
    if (event.type == VideoEventType::kEnter) entered[event.face.track_id] = event.timestamp;
    if (event.type == VideoEventType::kIdentified && event.face.state == IdentityState::kIdentified &&
        entered.count(event.face.track_id)) {
      EXPECT_LE(event.timestamp - entered[event.face.track_id], 0.3) << event.face.person;
      entered.erase(event.face.track_id);
      ++first_identifications;
    }
  }
  EXPECT_GE(first_identifications, min_first_identifications);
}

// A clip of sample photos with its truth per second always: alice (her face cut out of sample3.jpg,
// enrolled from sample1.jpg) for two seconds, nobody for one, the five strangers of sample5.jpg for
// two, alice again for two (a new track). The real clip of video_dev where present.
TEST(VideoIdentifierTest, NamesThePeopleOfTheClipPerSecond) {
  FACEID_REQUIRE_MODELS();
  const SamplePeople people = sample_people("video_identify");
  const std::string clip = test::temp_dir("video_identify_clip") + "/samples.mp4";
  test::write_clip(clip, {{people.alice_in_sample3, 50}, {cv::Mat(), 25},
                          {load_image(test::sample_photo(5)), 50}, {people.alice_in_sample3, 50}});
  Annotations truth;
  for (int second = 0; second < 7; ++second) truth.expected[second];
  for (int second : {0, 1, 5, 6}) truth.expected[second] = {"alice"};
  expect_named_per_second(*people.engine, clip, truth, 2);  // alice's two tracks

  const std::string video_dev = test::dataset_dir("video_dev");
  if (video_dev.empty()) return;
  auto engine = engine_with_references(video_dev, "video_identify");
  const Annotations annotations =
      read_annotations((fs::path(video_dev) / "annotations.tsv").string(), {"lin_manuel_miranda", "alex_lacamoire",
                                                                           "barack_obama"});
  ASSERT_EQ(annotations.expected.size(), 10u);
  expect_named_per_second(*engine, (fs::path(video_dev) / kClip).string(), annotations, 2);
}

// A clip through one identifier with the detector on every frame.
struct ClipRun {
  VideoStats stats;
  std::int64_t detected_faces = 0;  // detected faces of confirmed tracks, over all frames
  std::set<std::string> named;
  std::vector<double> seconds_to_name;  // per track, from its enter event to its first name
  bool every_face_has_landmarks = true;
};

// Against `gallery` when given, else the engine's own.
ClipRun run_clip(const Engine& engine, const std::string& clip, VideoOptions options,
                 const Gallery* gallery = nullptr) {
  options.detect_every = 1;
  VideoIdentifier video(engine.pipeline(), gallery ? *gallery : engine.gallery(), options);
  VideoSource source(clip);
  ClipRun run;
  std::map<int, double> entered;
  const auto record = [&](const std::vector<VideoEvent>& events) {
    for (const auto& event : events) {
      if (event.type == VideoEventType::kEnter) entered[event.face.track_id] = event.timestamp;
      if (event.type != VideoEventType::kIdentified) continue;
      run.named.insert(event.face.person);
      if (!entered.count(event.face.track_id)) continue;
      run.seconds_to_name.push_back(event.timestamp - entered[event.face.track_id]);
      entered.erase(event.face.track_id);
    }
  };
  cv::Mat frame;
  double t = 0.;
  while (source.read(frame, t)) {
    for (const auto& face : video.process(frame, t)) {
      run.detected_faces += face.detected ? 1 : 0;
      run.every_face_has_landmarks = run.every_face_has_landmarks && has_landmarks(face.detection);
    }
    record(video.take_events());
  }
  video.finish(t);
  record(video.take_events());
  run.stats = video.stats();
  return run;
}

// What set-up installs is enough for these: a clip of alice's face cut out of sample3.jpg. Only her
// face: a stranger of that photo scores close to the 1:N threshold (tests/sample_people.hpp), so a
// clip of the whole photo could name him too.
struct SampleClip {
  std::unique_ptr<Engine> engine;
  std::string clip;
};

SampleClip sample_clip(const std::string& tag, int frames) {
  SamplePeople people = sample_people(tag);
  SampleClip sample{std::move(people.engine), test::temp_dir(tag) + "/sample3.mp4"};
  test::write_clip(sample.clip, people.alice_in_sample3, frames);
  return sample;
}

// The 68-point landmark network runs only for the faces about to be recognised (and undecided or
// stale tracks), not on every detected face; the people named stay the same.
TEST(VideoIdentifierTest, TrackingFramesSkipTheLandmarkNetwork) {
  FACEID_REQUIRE_MODELS();
  const SampleClip sample = sample_clip("video_landmarks", 60);
  const ClipRun run = run_clip(*sample.engine, sample.clip, {});
  std::printf("landmark runs %lld for %lld detected faces of confirmed tracks, %lld recognitions\n",
              (long long)run.stats.landmark_runs, (long long)run.detected_faces, (long long)run.stats.recognitions);
  EXPECT_EQ(run.stats.detector_runs, run.stats.frames);
  EXPECT_TRUE(run.every_face_has_landmarks);  // moved along between landmark runs
  EXPECT_GE(run.stats.landmark_runs, run.stats.recognitions);  // every embedded face had fresh points
  EXPECT_LT(run.stats.landmark_runs * 3, run.detected_faces);
  EXPECT_EQ(run.named, std::set<std::string>{"alice"});
}

// A video identifier matches against the gallery it is given (a server collection's), not the
// engine's own: the same faces under another name are named so, an empty gallery names no one.
TEST(VideoIdentifierTest, MatchesAgainstTheGalleryItIsGiven) {
  FACEID_REQUIRE_MODELS();
  const SampleClip sample = sample_clip("video_gallery", 30);
  const Engine& engine = *sample.engine;
  const auto lobby = engine.open_gallery(open_store(":memory:"), "collection lobby");
  EXPECT_EQ(run_clip(engine, sample.clip, {}, lobby.get()).named, std::set<std::string>{});
  const auto alice = engine.gallery().faces_of("alice", false);
  ASSERT_FALSE(alice.empty());
  ASSERT_EQ(lobby->import_faces(engine.embedder_model_id(), {{"lobby_alice", alice}}, "test"),
            static_cast<int>(alice.size()));
  EXPECT_EQ(run_clip(engine, sample.clip, {}, lobby.get()).named, std::set<std::string>{"lobby_alice"});
  EXPECT_EQ(run_clip(engine, sample.clip, {}).named, std::set<std::string>{"alice"});
}

// With background_recognition the worker's results arrive in later frames: the same people are
// named, each soon after their track appears.
TEST(VideoIdentifierTest, BackgroundRecognitionNamesTheSamePeople) {
  FACEID_REQUIRE_MODELS();
  const SampleClip sample = sample_clip("video_background", 60);
  VideoOptions options;
  options.background_recognition = true;
  const ClipRun run = run_clip(*sample.engine, sample.clip, options);
  EXPECT_GT(run.stats.recognitions, 0);
  EXPECT_EQ(run.named, std::set<std::string>{"alice"});
  ASSERT_EQ(run.seconds_to_name.size(), 1u);  // one track, named once
  for (double seconds : run.seconds_to_name) EXPECT_LE(seconds, 0.5);
}

// wait_for_recognitions() applies what the worker found without another frame.
TEST(VideoIdentifierTest, WaitForRecognitionsAppliesTheWorkersResults) {
  FACEID_REQUIRE_MODELS();
  const SampleClip sample = sample_clip("video_wait", 4);
  VideoOptions options;
  options.background_recognition = true;
  options.detect_every = 1;
  VideoIdentifier video(*sample.engine, options);
  VideoSource source(sample.clip);
  cv::Mat frame;
  double t = 0.;
  // Frame 0 starts the track, frame 1 confirms it and hands its face to the worker.
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(source.read(frame, t));
    video.process(frame, t);
  }
  ASSERT_GE(video.stats().tracks, 1);
  EXPECT_EQ(video.stats().recognitions, 0);  // the worker's results are applied only by the next call
  video.wait_for_recognitions(t);
  EXPECT_GE(video.stats().recognitions, 1);
}

TEST(VideoIdentifierTest, RejectsBadFramesAndOptions) {
  FACEID_REQUIRE_MODELS();
  EngineConfig config;
  config.gallery = (fs::path(test::temp_dir("video_bad")) / "gallery.db").string();
  auto engine = Engine::open(config);
  VideoOptions bad;
  bad.detect_every = 0;
  EXPECT_THROW(VideoIdentifier(*engine, bad), Error);
  bad = VideoOptions{};
  bad.votes_to_decide = bad.vote_window + 1;
  EXPECT_THROW(VideoIdentifier(*engine, bad), Error);

  VideoIdentifier video(*engine);
  try {
    video.process(cv::Mat(), 0.);
    ADD_FAILURE() << "an empty frame must be rejected";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kBadImage);
  }
  EXPECT_THROW(video.process(cv::Mat(10, 10, CV_32FC3, cv::Scalar(0)), 0.), Error);
  // A plain dark frame: no faces, no events, and grayscale input is accepted.
  EXPECT_TRUE(video.process(cv::Mat(240, 320, CV_8UC1, cv::Scalar(20)), 0.).empty());
  EXPECT_TRUE(video.take_events().empty());
  EXPECT_EQ(video.stats().frames, 1);
}

// A clip of alice alone in view, one second from each of her two photos (cosine 0.71 between them):
// two views of her that differ.
std::string two_photos_of_alice(const SamplePeople& people, const std::string& tag) {
  const std::string clip = test::temp_dir(tag) + "/alice.mp4";
  test::write_clip(clip, {{people.alice_in_sample1, 25}, {people.alice_in_sample3, 25}});
  return clip;
}

// The crops `capture_faces` keeps of the one person in `clip`: `options.count` of them, sharp, best
// first, each one shows `person` (found again by the detector on the crop alone), no two alike or
// close in time.
std::vector<CapturedFace> expect_distinct_crops(const Engine& engine, const std::string& clip,
                                                const CaptureOptions& options, const std::string& person) {
  CaptureSummary summary;
  const auto faces = capture_faces(engine, clip, options, &summary);
  EXPECT_EQ(faces.size(), std::size_t(options.count));
  EXPECT_GT(summary.frames_with_face, 0);
  for (std::size_t i = 0; i < faces.size(); ++i) {
    EXPECT_GE(faces[i].quality.score, options.min_quality);
    if (i > 0) EXPECT_LE(faces[i].quality.score, faces[i - 1].quality.score) << "best first";
    const auto found = engine.identify(faces[i].image);
    EXPECT_FALSE(found.empty()) << "crop " << i;
    if (!found.empty()) EXPECT_EQ(found.front().person.value_or("unknown"), person) << "crop " << i;
    for (std::size_t j = 0; j < i; ++j) {
      EXPECT_LE(compare(faces[i].embedding, faces[j].embedding, Metric::kCosine), options.max_similarity);
      EXPECT_GE(std::abs(faces[i].timestamp - faces[j].timestamp), options.min_gap_seconds);
    }
  }
  return faces;
}

// The clip of alice's two photos always (one crop from each), the real clip of video_dev where present.
TEST(FaceCaptureTest, KeepsDistinctSharpCropsOfThePersonInView) {
  FACEID_REQUIRE_MODELS();
  const SamplePeople people = sample_people("video_capture");
  CaptureOptions options;
  options.count = 2;
  options.min_count = 2;
  options.frame_stride = 2;
  const auto crops = expect_distinct_crops(*people.engine, two_photos_of_alice(people, "video_capture"), options, "alice");
  ASSERT_EQ(crops.size(), 2u);
  EXPECT_NE(crops[0].timestamp < 1., crops[1].timestamp < 1.) << "one crop from each photo";

  const std::string video_dev = test::dataset_dir("video_dev");
  if (video_dev.empty()) return;
  options.count = 6;
  options.min_count = 4;
  expect_distinct_crops(*engine_with_references(video_dev, "video_capture"), (fs::path(video_dev) / kClip).string(),
                        options, "lin_manuel_miranda");
}

void expect_capture_refusals(const Engine& engine, const std::string& clip) {
  CaptureOptions crowded;
  crowded.max_crowded_share = 0.1f;
  crowded.frame_stride = 5;
  try {
    capture_faces(engine, clip, crowded);
    ADD_FAILURE() << "must refuse: several people in view";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kBadRequest);
    EXPECT_NE(std::string(e.what()).find("more than one person"), std::string::npos) << e.what();
  }
  CaptureOptions demanding;
  demanding.count = 100;
  demanding.min_count = 100;
  demanding.frame_stride = 5;
  try {
    capture_faces(engine, clip, demanding);
    ADD_FAILURE() << "must refuse: too few good faces";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNoFace);
  }
}

// A sample clip with several faces in a third of its frames (alice alone for two seconds, then the
// three people of sample1.jpg for one) always; the real clip of video_dev (several faces in about a
// third of its frames) where present.
TEST(FaceCaptureTest, RefusesCrowdsAndTooFewFaces) {
  FACEID_REQUIRE_MODELS();
  const SamplePeople people = sample_people("video_refuse");
  const std::string clip = test::temp_dir("video_refuse") + "/crowd.mp4";
  test::write_clip(clip, {{people.alice_in_sample3, 50}, {load_image(test::sample_photo(1)), 25}});
  expect_capture_refusals(*people.engine, clip);

  const std::string video_dev = test::dataset_dir("video_dev");
  if (video_dev.empty()) return;
  EngineConfig config;
  config.gallery = (fs::path(test::temp_dir("video_refuse")) / "gallery.db").string();
  expect_capture_refusals(*Engine::open(config), (fs::path(video_dev) / kClip).string());
}

TEST(VideoSourceTest, MissingUnreadableAndTruncatedFiles) {
  const std::string dir = test::temp_dir("video_source");
  try {
    VideoSource missing(dir + "/missing.mp4");
    ADD_FAILURE() << "a missing file must be rejected";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
  const std::string text = dir + "/not_a_video.mp4";
  std::ofstream(text) << "this is not a video\n";
  try {
    VideoSource unreadable(text);
    ADD_FAILURE() << "a non-video file must be rejected";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
  }
  VideoSourceOptions bad;
  bad.max_failed_reads = 0;
  EXPECT_THROW(VideoSource(text, bad), Error);

  // An MP4 made from a sample photo (OpenCV's writer keeps the index at the end, as the clip of
  // ../shared/datasets/video_dev does).
  const std::string clip = dir + "/sample.mp4";
  test::write_clip(clip, load_image(test::sample_photo(3)), 75);
  auto truncate_copy = [&](const std::string& from, const std::string& to) {
    std::ifstream in(from, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(to, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size() * 6 / 10));
  };
  // This MP4 keeps its index at the end: cut off, it cannot be opened at all.
  truncate_copy(clip, dir + "/truncated.mp4");
  try {
    VideoSource cut(dir + "/truncated.mp4");
    ADD_FAILURE() << "an MP4 without its index must be rejected";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo) << e.what();
  }
  // An AVI is readable front to back: cut off, it plays what is there, then ends cleanly.
  {
    VideoSource source(clip);
    cv::VideoWriter writer(dir + "/clip.avi", cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 30., cv::Size(640, 360));
    ASSERT_TRUE(writer.isOpened());
    cv::Mat frame;
    double t = 0.;
    for (int i = 0; i < 40 && source.read(frame, t); ++i) writer.write(frame);
  }
  truncate_copy(dir + "/clip.avi", dir + "/truncated.avi");
  VideoSource source(dir + "/truncated.avi");
  cv::Mat frame;
  double t = 0., last = -1.;
  int frames = 0;
  while (source.read(frame, t)) {
    EXPECT_GT(t, last);
    last = t;
    ++frames;
  }
  EXPECT_GT(frames, 10);
  EXPECT_LT(frames, 40);
  EXPECT_EQ(source.end_reason(), "end of file");
}

struct CliRun {
  int exit_code = -1;
  std::vector<nlohmann::json> lines;
};

CliRun run_cli(const std::string& gallery, const std::string& args) {
  const std::string command = std::string(FACEID_CLI_PATH) + " --gallery '" + gallery + "' --model-dir '" +
                              test::model_dir() + "' " + args + " 2>/dev/null";
  CliRun run;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return run;
  std::string out;
  std::array<char, 4096> buffer{};
  while (fgets(buffer.data(), buffer.size(), pipe)) out += buffer.data();
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) run.lines.push_back(nlohmann::json::parse(line, nullptr, false));
  return run;
}

// `faceid watch CLIP --max-frames N --annotate`: enter, identified and leave events, each with its
// track, time and box; `person` identified; a summary that ends at the frame limit; N frames written.
void expect_watch_events(const std::string& gallery, const std::string& clip, int max_frames, const std::string& person,
                         const std::string& dir) {
  const std::string annotated = dir + "/annotated.mp4";
  const CliRun run = run_cli(gallery, "watch '" + clip + "' --max-frames " + std::to_string(max_frames) +
                                          " --no-status --annotate '" + annotated + "'");
  ASSERT_EQ(run.exit_code, 0);
  ASSERT_FALSE(run.lines.empty());
  std::set<std::string> events;
  bool identified = false;
  for (const auto& line : run.lines) {
    ASSERT_FALSE(line.is_discarded());
    if (!line.contains("event")) continue;
    events.insert(line["event"].get<std::string>());
    EXPECT_TRUE(line.contains("track") && line.contains("time") && line.contains("box"));
    identified = identified || (line["event"] == "identified" && line["person"] == person);
  }
  EXPECT_TRUE(events.count("enter") && events.count("identified") && events.count("leave"));
  EXPECT_TRUE(identified) << person;
  const auto& summary = run.lines.back();
  ASSERT_TRUE(summary.contains("summary"));
  EXPECT_EQ(summary["summary"]["frames"], max_frames);
  EXPECT_EQ(summary["summary"]["end"], "frame limit");
  EXPECT_GT(fs::file_size(annotated), 10000u);
  cv::VideoCapture written(annotated);
  EXPECT_EQ(int(written.get(cv::CAP_PROP_FRAME_COUNT)), max_frames);
}

// A sample clip always: alice (cut out of sample3.jpg, enrolled from sample1.jpg) for two seconds,
// nobody for one (her track leaves), alice again, stopped at frame 100 of 125. The on-stage part of
// the video_dev clip where present.
TEST(WatchCliTest, EmitsEventsAnnotatesAndSummarises) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("watch_cli");
  const std::string gallery = dir + "/gallery.db";
  ASSERT_EQ(run_cli(gallery, "enroll --name alice '" + test::sample_photo(1) + "'").exit_code, 0);
  const SamplePeople people = sample_people("watch_cli_people");
  const std::string clip = dir + "/alice.mp4";
  test::write_clip(clip, {{people.alice_in_sample3, 50}, {cv::Mat(), 25}, {people.alice_in_sample3, 50}});
  expect_watch_events(gallery, clip, 100, "alice", dir);

  // A source that does not exist: a clear error, exit status 2, no hang.
  EXPECT_EQ(run_cli(gallery, "watch '" + dir + "/missing.mp4' --no-status").exit_code, 2);

  const std::string video_dev = test::dataset_dir("video_dev");
  if (video_dev.empty()) return;
  const std::string lin = (fs::path(video_dev) / "references" / "lin_manuel_miranda.png").string();
  ASSERT_EQ(run_cli(gallery, "enroll --name lin_manuel_miranda '" + lin + "'").exit_code, 0);
  // The on-stage part of the clip (seconds 3 to 6 are frames 90..180; 200 frames in all).
  expect_watch_events(gallery, (fs::path(video_dev) / kClip).string(), 200, "lin_manuel_miranda",
                      test::temp_dir("watch_cli_dev"));
}

// `faceid capture CLIP --name NAME --count N` twice (the second time with --enroll): NAME_1..NAME_2N
// saved, nothing overwritten, NAME enrolled; asked for more good faces than there are: refused,
// exit status 1, nothing saved.
void expect_capture_layout(const std::string& clip, const std::string& name, int count, const std::string& dir) {
  const std::string n = std::to_string(count);
  const std::string args =
      "capture '" + clip + "' --name " + name + " --count " + n + " --min-count " + n + " --stride 3 --out '" + dir + "'";
  ASSERT_EQ(run_cli(dir + "/gallery.db", args).exit_code, 0);
  ASSERT_EQ(run_cli(dir + "/gallery.db", args + " --enroll").exit_code, 0);
  const fs::path saved = fs::path(dir) / name;
  for (int k = 1; k <= 2 * count; ++k) EXPECT_TRUE(fs::exists(saved / (name + "_" + std::to_string(k) + ".jpg"))) << k;
  EXPECT_FALSE(fs::exists(saved / (name + "_" + std::to_string(2 * count + 1) + ".jpg")));
  const CliRun people = run_cli(dir + "/gallery.db", "people");
  ASSERT_EQ(people.exit_code, 0);
  std::string listed;
  for (const auto& line : people.lines) listed += line.dump();
  EXPECT_NE(listed.find("\"" + name + "\""), std::string::npos) << listed;

  const CliRun crowded = run_cli(dir + "/gallery.db", "capture '" + clip + "' --name crowd --stride 3 --out '" + dir +
                                                          "' --count 100 --min-count 100");
  EXPECT_EQ(crowded.exit_code, 1);
  ASSERT_FALSE(crowded.lines.empty());
  EXPECT_TRUE(crowded.lines.back()["capture"]["refused"].get<bool>());
  EXPECT_FALSE(fs::exists(fs::path(dir) / "crowd"));
}

// The clip of alice's two photos always (two distinct crops a run); the video_dev clip where present,
// with `enroll --video` (which wants at least five distinct views: more than two photos give).
TEST(CaptureCliTest, SavesTheTeamLayoutWithoutOverwriting) {
  FACEID_REQUIRE_MODELS();
  const SamplePeople people = sample_people("capture_cli_people");
  expect_capture_layout(two_photos_of_alice(people, "capture_cli_clip"), "alice", 2, test::temp_dir("capture_cli"));

  const std::string video_dev = test::dataset_dir("video_dev");
  if (video_dev.empty()) return;
  const std::string dir = test::temp_dir("capture_cli_dev");
  const std::string clip = (fs::path(video_dev) / kClip).string();
  expect_capture_layout(clip, "lin", 3, dir);

  // enroll --video: the same capture straight into a gallery; his reference photo is then named.
  const std::string video_gallery = dir + "/video.db";
  ASSERT_EQ(run_cli(video_gallery, "enroll --name lin --video '" + clip + "'").exit_code, 0);
  const CliRun found =
      run_cli(video_gallery, "identify '" + (fs::path(video_dev) / "references" / "lin_manuel_miranda.png").string() + "'");
  ASSERT_EQ(found.lines.size(), 1u);
  ASSERT_FALSE(found.lines[0]["faces"].empty());
  EXPECT_EQ(found.lines[0]["faces"][0]["person"], "lin") << found.lines[0].dump();
}

}  // namespace
}  // namespace faceid
