// Parsers of the evaluation protocol files: pair lists, 1:N protocols, group manifests.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "faceid/error.hpp"
#include "faceid/eval.hpp"

namespace faceid::eval {

namespace {

struct NumberedLine {
  int number = 0;  // 1-based
  std::string text;
};

// Non-empty lines (comments starting with '#' skipped), CR stripped.
std::vector<NumberedLine> read_lines(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorCode::kNotFound, "cannot open " + path);
  std::vector<NumberedLine> lines;
  std::string text;
  int number = 0;
  while (std::getline(in, text)) {
    ++number;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos || text[0] == '#') continue;
    lines.push_back({number, text});
  }
  return lines;
}

std::vector<std::string> split_whitespace(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> tokens;
  for (std::string token; in >> token;) tokens.push_back(token);
  return tokens;
}

std::vector<std::string> split_tabs(const std::string& text) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  while (true) {
    const std::size_t tab = text.find('\t', start);
    fields.push_back(text.substr(start, tab - start));
    if (tab == std::string::npos) return fields;
    start = tab + 1;
  }
}

Error bad_line(const std::string& path, int line, const std::string& what) {
  return Error(ErrorCode::kBadRequest, path + ":" + std::to_string(line) + ": " + what);
}

std::optional<int> parse_int(const std::string& token) {
  try {
    std::size_t used = 0;
    const int value = std::stoi(token, &used);
    if (used == token.size()) return value;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

int positive_int(const std::string& path, int line, const std::string& token, const char* what) {
  const auto value = parse_int(token);
  if (!value || *value < 1) throw bad_line(path, line, std::string(what) + " must be a positive integer, got '" + token + "'");
  return *value;
}

std::string lfw_image(const std::string& name, int number) {
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "_%04d.jpg", number);
  return "images/" + name + "/" + name + suffix;
}

std::vector<PairEntry> parse_lfw_pairs(const std::string& path, const std::vector<NumberedLine>& lines) {
  const auto header = split_whitespace(lines[0].text);
  const int folds = positive_int(path, lines[0].number, header[0], "the number of folds");
  const int per_class = positive_int(path, lines[0].number, header[1], "the number of pairs per fold");
  const std::size_t expected = std::size_t(folds) * 2 * std::size_t(per_class);
  if (lines.size() - 1 != expected)
    throw Error(ErrorCode::kBadRequest, path + ": the header announces " + std::to_string(folds) + " folds of " +
                                            std::to_string(2 * per_class) + " pairs (" + std::to_string(expected) +
                                            ") but the file has " + std::to_string(lines.size() - 1));
  std::vector<PairEntry> pairs;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto& line = lines[i];
    const auto tokens = split_whitespace(line.text);
    PairEntry pair;
    pair.line = line.number;
    pair.fold = static_cast<int>((i - 1) / (2 * std::size_t(per_class)));
    if (tokens.size() == 3) {
      pair.genuine = true;
      pair.path_a = lfw_image(tokens[0], positive_int(path, line.number, tokens[1], "an image number"));
      pair.path_b = lfw_image(tokens[0], positive_int(path, line.number, tokens[2], "an image number"));
    } else if (tokens.size() == 4) {
      pair.path_a = lfw_image(tokens[0], positive_int(path, line.number, tokens[1], "an image number"));
      pair.path_b = lfw_image(tokens[2], positive_int(path, line.number, tokens[3], "an image number"));
    } else {
      throw bad_line(path, line.number, "expected `name n1 n2` or `name1 n1 name2 n2`, got " +
                                            std::to_string(tokens.size()) + " fields");
    }
    pairs.push_back(pair);
  }
  return pairs;
}

std::vector<PairEntry> parse_path_pairs(const std::string& path, const std::vector<NumberedLine>& lines) {
  std::vector<PairEntry> pairs;
  std::map<int, int> fold_index;  // value in the file -> 0-based order of appearance
  for (const auto& line : lines) {
    const auto tokens = split_whitespace(line.text);
    if (tokens.size() != 3 && tokens.size() != 4)
      throw bad_line(path, line.number, "expected `pathA pathB 1|0 [fold]`, got " + std::to_string(tokens.size()) +
                                            " fields");
    if (tokens[2] != "1" && tokens[2] != "0")
      throw bad_line(path, line.number, "the label must be 1 (same person) or 0, got '" + tokens[2] + "'");
    PairEntry pair{tokens[0], tokens[1], tokens[2] == "1", -1, line.number};
    if (tokens.size() == 4) {
      const auto fold = parse_int(tokens[3]);
      if (!fold) throw bad_line(path, line.number, "the fold must be an integer, got '" + tokens[3] + "'");
      pair.fold = fold_index.emplace(*fold, static_cast<int>(fold_index.size())).first->second;
    } else if (!fold_index.empty()) {
      throw bad_line(path, line.number, "a fold column is given on other lines but not here");
    }
    pairs.push_back(pair);
  }
  return pairs;
}

}  // namespace

std::vector<PairEntry> parse_pairs_file(const std::string& path) {
  const auto lines = read_lines(path);
  if (lines.empty()) throw Error(ErrorCode::kBadRequest, path + ": no pairs in the file");
  const auto first = split_whitespace(lines[0].text);
  const bool lfw_header = first.size() == 2 && parse_int(first[0]) && parse_int(first[1]);
  auto pairs = lfw_header ? parse_lfw_pairs(path, lines) : parse_path_pairs(path, lines);
  if (pairs.empty()) throw Error(ErrorCode::kBadRequest, path + ": no pairs in the file");
  return pairs;
}

const char* probe_role_name(ProbeRole role) {
  switch (role) {
    case ProbeRole::kGallery: return "gallery";
    case ProbeRole::kProbeKnown: return "probe_known";
    case ProbeRole::kProbeUnknown: return "probe_unknown";
  }
  return "unknown";
}

std::vector<ProtocolEntry> parse_identification_protocol(const std::string& path) {
  const auto lines = read_lines(path);
  if (lines.empty()) throw Error(ErrorCode::kBadRequest, path + ": the protocol is empty");
  if (split_tabs(lines[0].text) != std::vector<std::string>{"path", "identity", "role"})
    throw bad_line(path, lines[0].number, "expected the header `path<TAB>identity<TAB>role`");
  std::vector<ProtocolEntry> entries;
  bool has_gallery = false, has_probe = false;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto fields = split_tabs(lines[i].text);
    if (fields.size() != 3 || fields[0].empty() || fields[1].empty())
      throw bad_line(path, lines[i].number, "expected `path<TAB>identity<TAB>role`");
    ProtocolEntry entry{fields[0], fields[1], ProbeRole::kGallery, lines[i].number};
    if (fields[2] == "gallery") {
      has_gallery = true;
    } else if (fields[2] == "probe_known") {
      entry.role = ProbeRole::kProbeKnown;
      has_probe = true;
    } else if (fields[2] == "probe_unknown") {
      entry.role = ProbeRole::kProbeUnknown;
      has_probe = true;
    } else {
      throw bad_line(path, lines[i].number,
                     "the role must be gallery, probe_known or probe_unknown, got '" + fields[2] + "'");
    }
    entries.push_back(entry);
  }
  if (!has_gallery || !has_probe)
    throw Error(ErrorCode::kBadRequest, path + ": the protocol needs at least one gallery image and one probe");
  return entries;
}

std::map<std::string, std::string> parse_group_manifest(const std::string& path) {
  const auto lines = read_lines(path);
  if (lines.empty()) throw Error(ErrorCode::kBadRequest, path + ": the manifest is empty");
  const auto header = split_tabs(lines[0].text);
  int key_column = -1, group_column = -1;
  for (int i = 0; i < static_cast<int>(header.size()); ++i) {
    if (header[i] == "identity" || (header[i] == "path" && key_column < 0)) key_column = i;
    if (group_column < 0 && header[i].rfind("ethnicity", 0) == 0) group_column = i;
  }
  if (key_column < 0 || group_column < 0)
    throw bad_line(path, lines[0].number, "expected a header with an identity (or path) column and an ethnicity column");
  std::map<std::string, std::string> groups;
  const auto needed = static_cast<std::size_t>(std::max(key_column, group_column));
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto fields = split_tabs(lines[i].text);
    if (fields.size() <= needed) throw bad_line(path, lines[i].number, "too few columns");
    groups[fields[key_column]] = fields[group_column];
  }
  return groups;
}

std::string group_of(const std::map<std::string, std::string>& groups, const std::string& image_path) {
  if (const auto it = groups.find(image_path); it != groups.end()) return it->second;
  const std::string identity = std::filesystem::path(image_path).parent_path().filename().string();
  if (const auto it = groups.find(identity); it != groups.end()) return it->second;
  return "unlabeled";
}

}  // namespace faceid::eval
