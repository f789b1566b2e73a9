// Annotated video output: a codec browsers play when the machine has it, labels inside the frame,
// and `faceid watch --annotate` quiet on stderr.
#include <filesystem>

#include <gtest/gtest.h>

#include "faceid/annotation.hpp"
#include "faceid/image.hpp"
#include "run_shell.hpp"
#include "sample_people.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace faceid {
namespace {

TEST(Annotation, LabelsStayInsideTheFrame) {
  const cv::Size frame(640, 480), text(120, 12);
  const int baseline = 4;
  const auto inside = [&](const cv::Point& o) {
    return o.x >= 0 && o.x + text.width <= frame.width && o.y - text.height - 2 >= 0 && o.y + baseline <= frame.height;
  };
  // Room above the box: the label sits just above it.
  const cv::Point above = label_origin({100, 200, 80, 80}, text, baseline, frame);
  EXPECT_TRUE(inside(above));
  EXPECT_LT(above.y, 200);
  EXPECT_EQ(above.x, 100);
  // A face at the top edge, one at the right edge, one hanging over the bottom-left corner.
  for (const cv::Rect box : {cv::Rect(50, 0, 80, 80), cv::Rect(600, 100, 80, 80), cv::Rect(-30, 470, 80, 80),
                             cv::Rect(700, -50, 40, 40)}) {
    EXPECT_TRUE(inside(label_origin(box, text, baseline, frame))) << box;
  }
}

TEST(Annotation, WriterUsesH264WhenTheMachineHasItElseSaysSo) {
  const std::string path = test::temp_dir("annotation") + "/out.mp4";
  {
    AnnotationWriter out = open_annotation_writer(path, 25., {320, 240});
    ASSERT_TRUE(out.writer.isOpened());
    EXPECT_TRUE(out.codec == "h264" || out.codec == "mp4v") << out.codec;
    EXPECT_EQ(out.warning.empty(), out.codec == "h264") << "the fallback, and only it, warns";
    for (int i = 0; i < 10; ++i) out.writer.write(cv::Mat(240, 320, CV_8UC3, cv::Scalar(i * 20, 100, 50)));
    cv::VideoCapture back;
    out.writer.release();
    ASSERT_TRUE(back.open(path));
    const int fourcc = static_cast<int>(back.get(cv::CAP_PROP_FOURCC));
    const std::string tag{char(fourcc & 255), char((fourcc >> 8) & 255), char((fourcc >> 16) & 255),
                          char((fourcc >> 24) & 255)};
    if (out.codec == "h264")
      EXPECT_TRUE(tag == "avc1" || tag == "h264" || tag == "H264") << tag;
    else
      EXPECT_EQ(tag, "mp4v");
    EXPECT_EQ(static_cast<int>(back.get(cv::CAP_PROP_FRAME_COUNT)), 10);
  }
  EXPECT_THROW(open_annotation_writer("/nonexistent/dir/out.mp4", 25., {320, 240}), Error);
}

TEST(Annotation, WatchAnnotateKeepsOpenCvNoiseOffStderr) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("annotation");
  const std::string clip = dir + "/sample3.mp4";
  test::write_clip(clip, load_image(test::sample_photo(3)), 10);
  const std::string command = std::string(FACEID_CLI_PATH) + " --gallery '" + dir + "/g.db' --model-dir '" +
                              test::model_dir() + "' watch '" + clip + "' --max-frames 10 --no-status --annotate '" +
                              dir + "/out.mp4' 2>&1 >/dev/null";
  const auto run = test::run_shell(command);
  const std::string& err = run.out;  // stderr only: stdout went to /dev/null
  EXPECT_EQ(run.exit_code, 0) << err;
  EXPECT_EQ(err.find("[ WARN"), std::string::npos) << err;
  EXPECT_EQ(err.find("GStreamer"), std::string::npos) << err;
  EXPECT_TRUE(fs::file_size(dir + "/out.mp4") > 0);
}

}  // namespace
}  // namespace faceid
