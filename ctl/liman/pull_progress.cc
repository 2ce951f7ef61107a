#include "ctl/liman/pull_progress.h"

#include <unistd.h>

#include <cmath>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status.h"
#include "common/terminal.h"
#include "ctl/liman-ctr/table.h"
#include "fmt/format.h"

namespace liman::cli {

using nlohmann::json;

std::string ImageReference::String() const { return digest.empty() ? name + ":" + tag : name + "@" + digest; }

ImageReference ParseImageReference(const std::string& text) {
  ImageReference reference;
  std::string rest = text;
  if (size_t at = rest.find('@'); at != std::string::npos) {
    reference.digest = rest.substr(at + 1);
    rest = rest.substr(0, at);
  }
  size_t slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    reference.tag = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
  }
  reference.name = rest;
  if (reference.tag.empty() && reference.digest.empty()) {
    reference.tag = "latest";
    reference.tag_defaulted = true;
  }
  return reference;
}

std::string ProgressDisplay::ProgressBar(const json& progress) const {
  int64_t current = progress.value("current", int64_t{0}), total = progress.value("total", int64_t{0});
  if (current <= 0 && total <= 0) return "";
  if (total <= 0) return fmt::format("{:>8}", ctr::HumanSize(static_cast<double>(current)));
  int percentage = std::min(50, static_cast<int>(static_cast<double>(current) / static_cast<double>(total) * 100) / 2);
  std::string bar;
  if (width_ > 110)
    bar = "[" + std::string(static_cast<size_t>(percentage), '=') + ">" +
          std::string(static_cast<size_t>(std::max(0, 50 - percentage)), ' ') + "] ";
  std::string numbers = current > total ? "" : fmt::format("{:>8}/{}", ctr::HumanSize(static_cast<double>(current)),
                                                           ctr::HumanSize(static_cast<double>(total)));
  std::string left;
  int64_t start = progress.value("start", int64_t{0});
  if (current > 0 && start > 0 && percentage < 50 && width_ > 50) {
    double elapsed = absl::ToDoubleSeconds(absl::Now() - absl::FromUnixSeconds(start));
    int64_t seconds = static_cast<int64_t>(elapsed / static_cast<double>(current) * static_cast<double>(total - current));
    left = " " + absl::FormatDuration(absl::Seconds(seconds));
  }
  return bar + numbers + left;
}

absl::Status ProgressDisplay::Show(const json& message) {
  if (message.contains("error") || message.contains("errorDetail")) {
    std::string error = message.value("error", "");
    if (error.empty() && message["errorDetail"].is_object()) error = message["errorDetail"].value("message", "");
    return absl::UnknownError(error);
  }
  std::string id = message.value("id", "");
  bool has_progress = message.contains("progressDetail") && message["progressDetail"].is_object() &&
                      !message["progressDetail"].empty();
  std::string bar = has_progress ? ProgressBar(message["progressDetail"]) : "";
  int diff = 0;
  if (!id.empty() && has_progress) {
    // A layer keeps its line: move up to it, redraw, come back down.
    auto [it, added] = lines_.emplace(id, static_cast<int>(lines_.size()));
    if (added && terminal_) fmt::print(out_, "\n");
    diff = static_cast<int>(lines_.size()) - it->second;
    if (terminal_ && diff > 0) fmt::print(out_, "\x1b[{}A", diff);
  } else {
    lines_.clear();
  }
  std::string end = "\n";
  if (terminal_) {
    fmt::print(out_, "\x1b[2K\r");
    end = "\r";
  } else if (!bar.empty()) {
    return absl::OkStatus();  // no progress bars without a terminal
  }
  if (!id.empty()) fmt::print(out_, "{}: ", id);
  std::string status = message.value("status", "");
  if (!bar.empty() && terminal_) fmt::print(out_, "{} {}{}", status, bar, end);
  else if (message.contains("stream") && message["stream"].is_string()) fmt::print(out_, "{}{}", message["stream"].get<std::string>(), end);
  else fmt::print(out_, "{}{}\n", status, terminal_ ? end : "");
  if (!id.empty() && terminal_ && diff > 0) fmt::print(out_, "\x1b[{}B", diff);
  fflush(out_);
  return absl::OkStatus();
}

namespace {

// POSTs to `path` and draws the JSON messages that come back; an {"error"} ends it as an error.
absl::Status ShowProgressStream(EngineClient& client, const std::string& path, FILE* out, bool quiet) {
  bool terminal = isatty(fileno(out));
  auto size = RawTerminal::Size();
  ProgressDisplay display(out, terminal, size ? size->first : 80);
  std::string pending;
  absl::Status shown = absl::OkStatus();
  // No credentials: an empty auth config, as docker sends without a login.
  absl::Status streamed = client.Stream(
      "POST", path, nullptr,
      [&](std::string_view data) {
        pending.append(data);
        size_t newline;
        while ((newline = pending.find('\n')) != std::string::npos) {
          json message = json::parse(pending.substr(0, newline), nullptr, /*allow_exceptions=*/false);
          pending.erase(0, newline + 1);
          if (message.is_discarded() || !message.is_object()) continue;
          if (message.contains("error")) {
            shown = display.Show(message);
            return false;
          }
          // An aux message (push: the tag, digest and size) is data for the client, not a line.
          if (!quiet && !message.contains("aux")) (void)display.Show(message);
        }
        return true;
      },
      nullptr, {{"X-Registry-Auth", "e30="}});
  LIMAN_RETURN_IF_ERROR(streamed);
  return shown;
}

}  // namespace

absl::Status PullImage(EngineClient& client, const ImageReference& reference, FILE* out, bool quiet) {
  return ShowProgressStream(client,
                            "/images/create?fromImage=" + QueryEscape(reference.name) + "&tag=" +
                                QueryEscape(reference.digest.empty() ? reference.tag : reference.digest),
                            out, quiet);
}

absl::Status PushImage(EngineClient& client, const ImageReference& reference, bool all_tags, FILE* out, bool quiet) {
  if (!reference.digest.empty()) return absl::InvalidArgumentError("cannot push a digest reference");
  if (all_tags && !reference.tag_defaulted) return absl::InvalidArgumentError("tag can't be used with --all-tags/-a");
  return ShowProgressStream(client,
                            "/images/" + reference.name + "/push?tag=" + QueryEscape(all_tags ? "" : reference.tag),
                            out, quiet);
}

}  // namespace liman::cli
