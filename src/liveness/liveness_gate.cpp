// The one rule that turns a liveness result into accept / refuse, shared by every front-end.
#include <cstdio>

#include "faceid/liveness.hpp"

namespace faceid {

std::optional<std::string> liveness_refusal(const LivenessResult& result) {
  if (!result.judged()) return "cannot judge liveness: " + result.reason;
  if (result.is_live) return std::nullopt;
  char text[96];
  std::snprintf(text, sizeof text, "spoof: live score %.4f below the threshold %.4f", *result.score,
                result.threshold);
  return std::string(text);
}

void gate_identity(std::optional<std::string>& person, std::optional<LivenessResult>& liveness,
                   const LivenessResult& result) {
  liveness = result;
  if (liveness_refusal(result)) person.reset();
}

const char* liveness_status(const LivenessResult& result) {
  if (!result.judged()) return "cannot_judge";
  return result.is_live ? "live" : "spoof";
}

}  // namespace faceid
