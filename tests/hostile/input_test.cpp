// Hostile input through the real CLI and the library's decoder: decompression bombs in every
// format, cut and damaged photos, and paths that are not regular files.
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "cli_run.hpp"
#include "corpus.hpp"
#include "faceid/error.hpp"
#include "faceid/image.hpp"
#include "sample_people.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace faceid::hostile {
namespace {

std::string sample(int i) { return test::model_dir() + "/samples/sample" + std::to_string(i) + ".jpg"; }

const std::vector<NamedBomb>& bombs() {
  static const std::vector<NamedBomb> corpus = every_bomb();
  return corpus;
}

// The CLI loads its models (~150 MB) before it reads an image; a decoded 20000 x 20000
// bomb alone would take 1.2 GB.
constexpr long kCliPeakRssLimitKb = 600 * 1024;

TEST(HostileInput, SmallBombBuildsDecodeSoTheCorpusIsReal) {
  // The same builders at a harmless size must give images OpenCV decodes, or a refusal of
  // the big ones would prove nothing.
  for (const auto& bytes : {jpeg_bomb(64, 48), jpeg_bomb(64, 48, true), png_bomb(64, 48)}) {
    const cv::Mat image = decode_image(bytes);
    EXPECT_EQ(image.cols, 64);
    EXPECT_EQ(image.rows, 48);
  }
  EXPECT_EQ(cv::imdecode(tiff_bomb(64, 48, 2), cv::IMREAD_COLOR).cols, 64) << "the TIFF builder is broken";
  EXPECT_EQ(cv::imdecode(bmp_rle_bomb(64, 48), cv::IMREAD_COLOR).cols, 64) << "the BMP builder is broken";
  EXPECT_EQ(cv::imdecode(pgm_bomb(32, 32), cv::IMREAD_COLOR).cols, 32) << "the PGM builder is broken";
}

TEST(HostileInput, EveryBombIsRefusedByTheDecoderBeforeAllocating) {
  for (const auto& bomb : bombs()) {
    const ErrorCode code = test::error_of([&] { decode_image(bomb.bytes); });
    EXPECT_EQ(code, ErrorCode::kBadImage) << bomb.name;
  }
}

TEST(HostileInput, FormatsOutsideTheAllowListAreNamedInTheRefusal) {
  const std::vector<std::pair<Bytes, std::string>> refused = {
      {tiff_bomb(64, 48), "TIFF"}, {pgm_bomb(32, 32), "PNM"}, {pfm_bomb(32, 32), "PFM"},
      {hdr_bomb(32, 32), "Radiance HDR"}, {webp_header(64, 64, true), "animated WebP"}};
  for (const auto& [bytes, name] : refused) {
    try {
      decode_image(bytes);
      ADD_FAILURE() << name << " was decoded";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kBadImage);
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

TEST(HostileInput, SixteenConcurrentBombDecodesStayUnderOneGigabyte) {
  // In a child process of its own, so its peak RSS is the decodes' and nothing else's.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::vector<std::thread> threads;
    std::atomic<int> refused{0};
    for (int t = 0; t < 16; ++t)
      threads.emplace_back([&, t] {
        const auto& bomb = bombs()[static_cast<std::size_t>(t) % bombs().size()];
        try {
          decode_image(bomb.bytes);
        } catch (const Error& e) {
          if (e.code() == ErrorCode::kBadImage) ++refused;
        }
      });
    for (auto& thread : threads) thread.join();
    _exit(refused == 16 ? 0 : 1);
  }
  int status = 0;
  rusage usage{};
  wait4(child, &status, 0, &usage);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "not every bomb was refused";
  EXPECT_LT(usage.ru_maxrss, 1024L * 1024) << "peak RSS " << usage.ru_maxrss << " KB";
  RecordProperty("peak_rss_kb", static_cast<int>(usage.ru_maxrss));
}

TEST(HostileInput, RealPhotosOfTheDatasetsPassTheChecks) {
  FACEID_REQUIRE_MODELS();
  // The checks must not refuse what cameras and the web really produce.
  // The installed sample photos always, the ../shared datasets where present.
  std::vector<std::string> photos;
  for (int i = 1; i <= 6; ++i) photos.push_back(test::sample_photo(i));
  for (const char* name : {"lfw_dev", "asian_faces_dev", "unknown_faces_dev", "spoof_dev"}) {
    const std::string dir = test::dataset_dir(name);
    if (dir.empty()) continue;
    std::vector<std::string> files;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      const std::string ext = entry.path().extension().string();
      if (entry.is_regular_file() && (ext == ".jpg" || ext == ".jpeg" || ext == ".png")) files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    const std::size_t step = std::max<std::size_t>(1, files.size() / 300);  // bounded time
    for (std::size_t i = 0; i < files.size(); i += step) photos.push_back(files[i]);
  }
  int refused = 0;
  for (const auto& photo : photos) {
    try {
      load_image(photo);
    } catch (const Error& e) {
      ++refused;
      ADD_FAILURE() << e.what();
    }
  }
  RecordProperty("photos_checked", static_cast<int>(photos.size()));
  EXPECT_EQ(refused, 0) << "of " << photos.size();
}

TEST(HostileInput, CliRefusesEveryBombWithBadImageAndBoundedMemory) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("hostile-bombs");
  std::vector<std::vector<std::string>> runs;
  for (const auto& bomb : bombs()) {
    const std::string path = dir + "/bomb." + bomb.name;
    write_bytes(path, bomb.bytes);
    runs.push_back({"identify", path});
  }
  const auto results = run_cli_concurrently(dir + "/g.db", runs, 90);
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& run = results[i];
    const std::string& name = bombs()[i].name;
    EXPECT_FALSE(run.timed_out) << name;
    EXPECT_EQ(run.exit_code, 2) << name << ": " << run.out << run.err;
    EXPECT_NE(run.out.find("bad_image"), std::string::npos) << name << ": " << run.out;
    EXPECT_LT(run.peak_rss_kb, kCliPeakRssLimitKb) << name;
    RecordProperty("peak_rss_kb_" + name, static_cast<int>(run.peak_rss_kb));
  }
}

// Cut points of a real photo: inside the headers, the middle of the scan, just before the end.
std::vector<std::size_t> cut_points(std::size_t size) { return {size / 20, size / 4, size / 2, size * 9 / 10, size - 2}; }

TEST(HostileInput, TruncatedJpegAndPngAreBadImageAtEveryCutPoint) {
  FACEID_REQUIRE_MODELS();
  const Bytes jpeg = read_bytes(sample(1));
  ASSERT_GT(jpeg.size(), 1000u);
  Bytes png;
  cv::imencode(".png", decode_image(jpeg), png);
  for (const Bytes* whole : std::vector<const Bytes*>{&jpeg, &png}) {
    EXPECT_NO_THROW(decode_image(*whole));
    for (const std::size_t cut : cut_points(whole->size())) {
      const Bytes part(whole->begin(), whole->begin() + static_cast<std::ptrdiff_t>(cut));
      EXPECT_EQ(test::error_of([&] { decode_image(part); }), ErrorCode::kBadImage)
          << (whole == &jpeg ? "JPEG" : "PNG") << " cut at " << cut << " of " << whole->size();
    }
  }
  // One flipped byte in the middle of the PNG's compressed data breaks a chunk CRC.
  Bytes damaged = png;
  damaged[damaged.size() / 2] ^= 0x55;
  EXPECT_EQ(test::error_of([&] { decode_image(damaged); }), ErrorCode::kBadImage);
}

TEST(HostileInput, CliNeverEnrollsOrIdentifiesACutPhoto) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("hostile-cut");
  const Bytes jpeg = read_bytes(sample(1));
  const std::string half = dir + "/half.jpg", most = dir + "/most.jpg";
  write_bytes(half, Bytes(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(jpeg.size() / 2)));
  write_bytes(most, Bytes(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(jpeg.size() * 9 / 10)));
  const std::string gallery = dir + "/g.db";
  const auto enrolled = run_cli(gallery, {"enroll", "--name", "alice", half});
  EXPECT_EQ(enrolled.exit_code, 2) << enrolled.out << enrolled.err;
  EXPECT_NE(enrolled.out.find("bad_image"), std::string::npos) << enrolled.out;
  EXPECT_EQ(run_cli(gallery, {"people"}).out, "") << "a cut photo was enrolled";
  const auto identified = run_cli(gallery, {"identify", most});
  EXPECT_EQ(identified.exit_code, 2) << identified.out;
  EXPECT_NE(identified.out.find("bad_image"), std::string::npos) << identified.out;
}

TEST(HostileInput, NonRegularFilesAreRefusedQuicklyInEveryCommand) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("hostile-paths");
  const std::string fifo = dir + "/pipe.jpg", loop = dir + "/loop.jpg", folder = dir + "/folder.jpg";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  fs::create_symlink(dir + "/loop2.jpg", loop);
  fs::create_symlink(loop, dir + "/loop2.jpg");
  fs::create_directory(folder);
  const std::string gallery = dir + "/g.db";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {fifo, "FIFO"}, {loop, "symlink loop"}, {folder, "folder"}};
  std::vector<std::vector<std::string>> runs;
  for (const auto& [path, what] : cases) {
    runs.push_back({"identify", path});
    runs.push_back({"verify", path, sample(1)});
    runs.push_back({"enroll", "--name", "alice", path});
  }
  // A folder given to identify or enroll is a folder of images: it has none here.
  const auto results = run_cli_concurrently(gallery, runs, 30);
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& [path, what] = cases[i / 3];
    const auto& run = results[i];
    const std::string label = runs[i][0] + " " + what;
    EXPECT_FALSE(run.timed_out) << label << " hung";
    EXPECT_EQ(run.exit_code, 2) << label;
    const std::string said = run.out + run.err;
    const std::string expected = what == "folder" && runs[i][0] != "verify" ? "has no images" : what;
    EXPECT_NE(said.find(expected), std::string::npos) << label << ": " << said;
    EXPECT_EQ(said.find("internal error"), std::string::npos) << label << ": " << said;
  }
}

TEST(HostileInput, IdentifyOnAFolderWithoutImagesSaysSoAndFails) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("hostile-empty");
  fs::create_directory(dir + "/empty");
  std::ofstream(dir + "/empty/notes.txt") << "no photos here";
  const auto run = run_cli(dir + "/g.db", {"identify", dir + "/empty"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("has no images"), std::string::npos) << run.err;
}

TEST(HostileInput, UndecodableInputExitsTwoAndNoFaceExitsOne) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("hostile-codes");
  const std::string broken = dir + "/broken.jpg", blank = dir + "/blank.png";
  write_bytes(broken, Bytes{0xFF, 0xD8, 0xFF, 0xE0, 0x00});
  cv::imwrite(blank, cv::Mat(200, 200, CV_8UC3, cv::Scalar(128, 128, 128)));
  const std::string gallery = dir + "/g.db";
  EXPECT_EQ(run_cli(gallery, {"identify", broken}).exit_code, 2);
  EXPECT_EQ(run_cli(gallery, {"enroll", "--name", "bob", broken}).exit_code, 2);
  EXPECT_EQ(run_cli(gallery, {"enroll", "--name", "bob", blank}).exit_code, 1) << "no face stays 1";
}

}  // namespace
}  // namespace faceid::hostile
