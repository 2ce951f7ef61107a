#include "ctl/liman-ctr/table.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "fmt/format.h"

namespace liman::ctr {
namespace {

// Go measures cells in runes: count the bytes that do not continue a UTF-8 sequence.
int TextWidth(std::string_view text) {
  int width = 0;
  for (unsigned char c : text) width += (c & 0xC0) != 0x80;
  return width;
}

// C's %g and Go's %g agree for the precisions and magnitudes used here (no exponent below 1e4).
std::string FormatG(const char* format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

// go-units CustomSize: divide by `base` until below it, then format with the unit.
std::string CustomSize(const char* format, double size, double base,
                       const std::vector<std::string_view>& units) {
  size_t i = 0;
  while (size >= base && i + 1 < units.size()) {
    size /= base;
    ++i;
  }
  return FormatG(format, size) + std::string(units[i]);
}

}  // namespace

void TabWriter::Write(std::string_view text) {
  while (!text.empty()) {
    size_t newline = text.find('\n');
    if (newline == std::string_view::npos) {
      partial_.append(text);
      return;
    }
    partial_.append(text.substr(0, newline));
    text.remove_prefix(newline + 1);
    Line line;
    size_t start = 0;
    for (size_t tab; (tab = partial_.find('\t', start)) != std::string::npos; start = tab + 1)
      line.push_back(partial_.substr(start, tab - start));
    line.push_back(partial_.substr(start));
    partial_.clear();
    bool has_tab = line.size() > 1;
    lines_.push_back(std::move(line));
    if (!has_tab) FlushLines();
  }
}

std::string TabWriter::Flush() {
  // Go formats a trailing partial line with the rest but writes no newline for it.
  bool partial = !partial_.empty();
  if (partial) Write("\n");
  FlushLines();
  if (partial && !out_.empty() && out_.back() == '\n') out_.pop_back();
  return std::move(out_);
}

void TabWriter::FlushLines() {
  std::vector<int> widths;
  FormatBlock(0, lines_.size(), widths);
  lines_.clear();
}

// Column `widths.size()` over lines [line0, line1): each run of consecutive lines having a cell
// there is one block with one width; its lines are formatted further column by column.
void TabWriter::FormatBlock(size_t line0, size_t line1, std::vector<int>& widths) {
  size_t column = widths.size();
  for (size_t current = line0; current < line1; ++current) {
    if (column + 1 >= lines_[current].size()) continue;
    WriteLines(line0, current, widths);
    line0 = current;
    int width = min_width_;
    for (; current < line1 && column + 1 < lines_[current].size(); ++current)
      width = std::max(width, TextWidth(lines_[current][column]) + padding_);
    widths.push_back(width);
    FormatBlock(line0, current, widths);
    widths.pop_back();
    line0 = current;
    if (current == line1) return;  // (the loop's ++ would skip past line1)
  }
  WriteLines(line0, line1, widths);
}

void TabWriter::WriteLines(size_t line0, size_t line1, const std::vector<int>& widths) {
  for (size_t i = line0; i < line1; ++i) {
    const Line& line = lines_[i];
    for (size_t j = 0; j < line.size(); ++j) {
      out_.append(line[j]);
      if (j >= widths.size() || j + 1 == line.size()) continue;
      int text = TextWidth(line[j]);
      if (pad_char_ == '\t') {
        if (tab_width_ == 0) continue;
        int cell = (widths[j] + tab_width_ - 1) / tab_width_ * tab_width_;
        out_.append((cell - text + tab_width_ - 1) / tab_width_, '\t');
      } else {
        out_.append(std::max(0, widths[j] - text), pad_char_);
      }
    }
    out_.push_back('\n');
  }
}

std::string HumanSize(double bytes) { return HumanSizeWithPrecision(bytes, 4); }

std::string HumanSizeWithPrecision(double bytes, int precision) {
  return CustomSize(fmt::format("%.{}g", precision).c_str(), bytes, 1000.0, {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"});
}

std::string BytesSize(double bytes) {
  return CustomSize("%.4g", bytes, 1024.0, {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"});
}

std::string HumanBytes(int64_t bytes) {
  return CustomSize("%02.1f ", static_cast<double>(bytes), 1024.0,
                    {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"});
}

std::string HumanDuration(double seconds) {
  int64_t whole = static_cast<int64_t>(seconds);
  if (whole < 1) return "Less than a second";
  if (whole == 1) return "1 second";
  if (whole < 60) return fmt::format("{} seconds", whole);
  int64_t minutes = static_cast<int64_t>(seconds / 60);
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return fmt::format("{} minutes", minutes);
  int64_t hours = static_cast<int64_t>(std::round(seconds / 3600));
  if (hours == 1) return "About an hour";
  if (hours < 48) return fmt::format("{} hours", hours);
  if (hours < 24 * 7 * 2) return fmt::format("{} days", hours / 24);
  if (hours < 24 * 30 * 2) return fmt::format("{} weeks", hours / 24 / 7);
  if (hours < 24 * 365 * 2) return fmt::format("{} months", hours / 24 / 30);
  return fmt::format("{} years", static_cast<int64_t>(seconds / 3600) / 24 / 365);
}

std::string FormatLabels(const std::map<std::string, std::string>& labels, std::string_view empty) {
  std::vector<std::string> pairs;
  for (const auto& [key, value] : labels) pairs.push_back(key + "=" + value);
  std::sort(pairs.begin(), pairs.end());
  if (pairs.empty()) return std::string(empty);
  std::string joined;
  for (const auto& pair : pairs) {
    if (!joined.empty()) joined.push_back(',');
    joined.append(pair);
  }
  return joined;
}

}  // namespace liman::ctr

namespace liman::ctr {

std::string GoTimeString(int64_t seconds, int32_t nanos) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm utc;
  gmtime_r(&t, &utc);
  char stamp[64];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &utc);
  std::string out = stamp;
  if (nanos > 0) {
    std::string fraction = fmt::format("{:09d}", nanos);
    while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
    out += "." + fraction;
  }
  return out + " +0000 UTC";
}

}  // namespace liman::ctr
