// ROC and score-histogram pictures drawn with OpenCV, readable without the numbers table.
#include <algorithm>
#include <cmath>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "faceid/error.hpp"
#include "faceid/eval.hpp"

namespace faceid::eval {

namespace {

const cv::Scalar kBlack(0, 0, 0), kGrid(220, 220, 220), kWhite(255, 255, 255);
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

// Distinct, print-friendly colours (BGR).
constexpr std::size_t kPaletteSize = 10;
cv::Scalar palette(std::size_t i) {
  static const cv::Scalar colours[kPaletteSize] = {
      {180, 119, 31}, {14, 127, 255}, {44, 160, 44}, {40, 39, 214}, {189, 103, 148},
      {75, 86, 140},  {194, 119, 227}, {127, 127, 127}, {34, 189, 188}, {207, 190, 23}};
  return colours[i % kPaletteSize];
}

// Curve `index` in its palette colour; every other round of the palette is dashed,
// so a grid of more configurations than colours still gives each curve its own look.
void draw_curve(cv::Mat& canvas, const std::vector<cv::Point>& points, std::size_t index, int thickness) {
  const cv::Scalar colour = palette(index);
  if ((index / kPaletteSize) % 2 == 0) {
    cv::polylines(canvas, points, false, colour, thickness, cv::LINE_AA);
    return;
  }
  constexpr double kDash = 7;  // pixels drawn, then as many skipped
  double travelled = 0;
  for (std::size_t i = 1; i < points.size(); ++i) {
    const cv::Point2d a = points[i - 1], b = points[i];
    const double length = cv::norm(b - a);
    for (double t = 0; t < length;) {
      const double phase = std::fmod(travelled + t, 2 * kDash);
      const double step = std::min(length - t, (phase < kDash ? kDash : 2 * kDash) - phase);
      if (phase < kDash)
        cv::line(canvas, cv::Point(a + (b - a) * (t / length)), cv::Point(a + (b - a) * ((t + step) / length)),
                 colour, thickness, cv::LINE_AA);
      t += step;
    }
    travelled += length;
  }
}

void put_text(cv::Mat& canvas, const std::string& text, cv::Point origin, double scale = 0.5,
              const cv::Scalar& colour = kBlack, int thickness = 1) {
  cv::putText(canvas, text, origin, kFont, scale, colour, thickness, cv::LINE_AA);
}

int text_width(const std::string& text, double scale) {
  int baseline = 0;
  return cv::getTextSize(text, kFont, scale, 1, &baseline).width;
}

void put_centred(cv::Mat& canvas, const std::string& text, cv::Point centre, double scale = 0.5) {
  put_text(canvas, text, {centre.x - text_width(text, scale) / 2, centre.y}, scale);
}

void save_png(const std::string& path, const cv::Mat& canvas) {
  bool written = false;
  try {
    written = cv::imwrite(path, canvas);
  } catch (const cv::Exception&) {
    written = false;
  }
  if (!written) throw Error(ErrorCode::kIo, "cannot write the plot " + path);
}

std::string format_number(double value, int decimals) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

// The lowest TAR any curve reaches at `far`, rounded down to a tenth: the bottom of the y axis.
double y_axis_floor(const std::vector<NamedRoc>& curves, double far) {
  double lowest = 1.0;
  for (const auto& curve : curves) {
    double tar = 0;
    for (const auto& point : curve.roc)
      if (point.far <= far) tar = std::max(tar, point.tar);
    lowest = std::min(lowest, tar);
  }
  return std::min(0.9, std::floor(lowest * 10.0) / 10.0);
}

}  // namespace

void write_roc_plot(const std::string& png_path, const std::string& title, const std::vector<NamedRoc>& curves) {
  constexpr double kLegendScale = 0.45;
  int legend_width = 0;
  for (const auto& curve : curves) legend_width = std::max(legend_width, text_width(curve.label, kLegendScale));
  legend_width += 50;
  const cv::Rect plot(80, 50, 640, 480);
  const int legend_height = plot.y + 20 * static_cast<int>(curves.size()) + 20;
  cv::Mat canvas(std::max(plot.y + plot.height + 70, legend_height), plot.x + plot.width + 30 + legend_width, CV_8UC3,
                 kWhite);

  const double log_min = -4.0, log_max = 0.0;
  const double y_min = y_axis_floor(curves, 1e-4);
  const double y_step = (1.0 - y_min) > 0.5 ? 0.1 : (1.0 - y_min) > 0.2 ? 0.05 : 0.02;
  auto to_pixel = [&](double far, double tar) {
    const double lx = std::clamp(std::log10(std::max(far, 1e-12)), log_min, log_max);
    const double x = plot.x + (lx - log_min) / (log_max - log_min) * plot.width;
    const double y = plot.y + plot.height - (std::max(tar, y_min) - y_min) / (1.0 - y_min) * plot.height;
    return cv::Point(static_cast<int>(std::lround(x)), static_cast<int>(std::lround(y)));
  };

  for (int e = -4; e <= 0; ++e) {
    const int x = to_pixel(std::pow(10.0, e), y_min).x;
    cv::line(canvas, {x, plot.y}, {x, plot.y + plot.height}, kGrid);
    put_centred(canvas, e == 0 ? "1" : "1e" + std::to_string(e), {x, plot.y + plot.height + 20});
  }
  const int y_steps = static_cast<int>(std::lround((1.0 - y_min) / y_step));
  for (int i = 0; i <= y_steps; ++i) {
    const double tar = y_min + i * y_step;
    const int y = to_pixel(1e-4, tar).y;
    cv::line(canvas, {plot.x, y}, {plot.x + plot.width, y}, kGrid);
    const std::string label = format_number(tar, y_step < 0.1 ? 2 : 1);
    put_text(canvas, label, {plot.x - 10 - text_width(label, 0.5), y + 5});
  }
  cv::rectangle(canvas, plot, kBlack);
  put_centred(canvas, "False accept rate (log scale)", {plot.x + plot.width / 2, plot.y + plot.height + 50});
  put_text(canvas, "TAR", {15, plot.y + plot.height / 2});
  put_centred(canvas, title, {plot.x + plot.width / 2, 30}, 0.6);

  for (std::size_t c = 0; c < curves.size(); ++c) {
    std::vector<cv::Point> points;
    for (const auto& point : curves[c].roc) points.push_back(to_pixel(point.far, point.tar));
    draw_curve(canvas, points, c, 2);
    const int y = plot.y + 10 + static_cast<int>(c) * 20;
    const int x = plot.x + plot.width + 20;
    draw_curve(canvas, {{x, y}, {x + 30, y}}, c, 3);
    put_text(canvas, curves[c].label, {x + 38, y + 5}, kLegendScale);
  }
  save_png(png_path, canvas);
}

void write_score_histogram(const std::string& png_path, const std::string& title,
                           const std::vector<ScoredPair>& pairs, std::optional<double> threshold,
                           const std::string& threshold_label) {
  constexpr int kBins = 60;
  std::vector<double> scores;
  for (const auto& pair : pairs)
    if (!pair.failed) scores.push_back(pair.score);
  if (scores.empty()) throw Error(ErrorCode::kBadRequest, "no scores to draw a histogram of");
  const auto [lo_it, hi_it] = std::minmax_element(scores.begin(), scores.end());
  double lo = *lo_it, hi = *hi_it;
  if (threshold) lo = std::min(lo, *threshold), hi = std::max(hi, *threshold);
  if (hi - lo < 1e-9) hi = lo + 1.0;
  const double pad = (hi - lo) * 0.02;
  lo -= pad;
  hi += pad;

  // Each class normalised to its own count, so both shapes show whatever the class sizes.
  std::vector<double> genuine(kBins, 0), impostor(kBins, 0);
  double n_genuine = 0, n_impostor = 0;
  for (const auto& pair : pairs) {
    if (pair.failed) continue;
    const int bin = std::clamp(static_cast<int>((pair.score - lo) / (hi - lo) * kBins), 0, kBins - 1);
    (pair.genuine ? genuine : impostor)[static_cast<std::size_t>(bin)] += 1;
    (pair.genuine ? n_genuine : n_impostor) += 1;
  }
  double peak = 1e-12;
  for (int b = 0; b < kBins; ++b) {
    genuine[b] /= std::max(1.0, n_genuine);
    impostor[b] /= std::max(1.0, n_impostor);
    peak = std::max({peak, genuine[b], impostor[b]});
  }

  const cv::Rect plot(80, 50, 720, 400);
  cv::Mat canvas(plot.y + plot.height + 70, plot.x + plot.width + 30, CV_8UC3, kWhite);
  auto x_of = [&](double score) {
    return plot.x + static_cast<int>(std::lround((score - lo) / (hi - lo) * plot.width));
  };
  auto y_of = [&](double share) {
    return plot.y + plot.height - static_cast<int>(std::lround(share / peak * plot.height * 0.95));
  };
  const cv::Scalar genuine_colour(44, 160, 44), impostor_colour(40, 39, 214);
  cv::Mat fill = canvas.clone();
  for (int b = 0; b < kBins; ++b) {
    const double left = lo + (hi - lo) * b / kBins, right = lo + (hi - lo) * (b + 1) / kBins;
    cv::rectangle(fill, {cv::Point(x_of(left), y_of(impostor[b])), cv::Point(x_of(right), y_of(0))},
                  impostor_colour, cv::FILLED);
    cv::rectangle(fill, {cv::Point(x_of(left), y_of(genuine[b])), cv::Point(x_of(right), y_of(0))},
                  genuine_colour, cv::FILLED);
  }
  cv::addWeighted(fill, 0.45, canvas, 0.55, 0, canvas);
  for (int b = 0; b < kBins; ++b) {  // outlines keep overlapping bars readable
    const double left = lo + (hi - lo) * b / kBins, right = lo + (hi - lo) * (b + 1) / kBins;
    cv::rectangle(canvas, {cv::Point(x_of(left), y_of(impostor[b])), cv::Point(x_of(right), y_of(0))},
                  impostor_colour, 1);
    cv::rectangle(canvas, {cv::Point(x_of(left), y_of(genuine[b])), cv::Point(x_of(right), y_of(0))},
                  genuine_colour, 1);
  }
  cv::rectangle(canvas, plot, kBlack);
  for (int i = 0; i <= 10; ++i) {
    const double score = lo + (hi - lo) * i / 10;
    const int x = x_of(score);
    cv::line(canvas, {x, plot.y + plot.height}, {x, plot.y + plot.height + 5}, kBlack);
    put_centred(canvas, format_number(score, 2), {x, plot.y + plot.height + 22});
  }
  if (threshold) {
    const int x = x_of(*threshold);
    cv::line(canvas, {x, plot.y}, {x, plot.y + plot.height}, kBlack, 2);
    put_text(canvas, threshold_label + ": " + format_number(*threshold, 3), {x + 6, plot.y + 18});
  }
  put_centred(canvas, "Score", {plot.x + plot.width / 2, plot.y + plot.height + 50});
  put_text(canvas, "Share", {12, plot.y + plot.height / 2});
  put_centred(canvas, title, {plot.x + plot.width / 2, 30}, 0.6);
  const int legend_x = plot.x + plot.width - 230;
  cv::rectangle(canvas, {legend_x, plot.y + 30, 18, 12}, genuine_colour, cv::FILLED);
  put_text(canvas, "genuine (" + std::to_string(static_cast<int>(n_genuine)) + " pairs)", {legend_x + 26, plot.y + 41});
  cv::rectangle(canvas, {legend_x, plot.y + 52, 18, 12}, impostor_colour, cv::FILLED);
  put_text(canvas, "impostor (" + std::to_string(static_cast<int>(n_impostor)) + " pairs)", {legend_x + 26, plot.y + 63});
  save_png(png_path, canvas);
}

}  // namespace faceid::eval
