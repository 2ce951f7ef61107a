// ctr's output formats: Go's text/tabwriter (which every `ctr ... ls` prints through) and the
// size and age wordings of docker/go-units and containerd's progress.Bytes, so that columns and
// numbers read exactly as ctr 1.6 prints them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace liman::ctr {

// Go's tabwriter.Writer with AlignLeft: text is split into cells at '\t'; a cell is
// tab-terminated, the text after a line's last tab is not part of any column. A column is
// as wide as its widest cell (in code points) plus `padding`, at least `min_width`, and runs over
// consecutive lines that have a cell in it (a column block). A line without any tab ends every
// block (tabwriter flushes there). Padding with '\t' pads to multiples of `tab_width` with tabs.
class TabWriter {
 public:
  TabWriter(int min_width, int tab_width, int padding, char pad_char)
      : min_width_(min_width), tab_width_(tab_width), padding_(padding), pad_char_(pad_char) {}

  // Appends text; lines end at '\n'.
  void Write(std::string_view text);
  // Formats what is pending (a last line without '\n' included) and returns it.
  std::string Flush();

 private:
  using Line = std::vector<std::string>;  // cells; the last one is the unterminated text
  void FormatBlock(size_t line0, size_t line1, std::vector<int>& widths);
  void WriteLines(size_t line0, size_t line1, const std::vector<int>& widths);
  void FlushLines();

  int min_width_, tab_width_, padding_;
  char pad_char_;
  std::vector<Line> lines_;
  std::string partial_;  // text after the last '\n'
  std::string out_;
};

// docker/go-units HumanSize: decimal units, 4 significant digits ("1.234MB", "512B").
std::string HumanSize(double bytes);
// HumanSizeWithPrecision: the same with `precision` significant digits (docker images: 3).
std::string HumanSizeWithPrecision(double bytes, int precision);
// docker/go-units BytesSize: binary units, 4 significant digits ("1.5MiB", "64MiB").
std::string BytesSize(double bytes);
// containerd's progress.Bytes: binary units, one decimal ("2.1 MiB", "512.0 B").
std::string HumanBytes(int64_t bytes);
// docker/go-units HumanDuration ("Less than a second", "5 minutes", "About an hour", "3 days").
std::string HumanDuration(double seconds);
// "k=v,k2=v2" sorted by pair, or `empty` when there are none.
std::string FormatLabels(const std::map<std::string, std::string>& labels, std::string_view empty);

}  // namespace liman::ctr

namespace liman::ctr {

// Go's time.Time.String() of a UTC instant: "2006-01-02 15:04:05.999999999 +0000 UTC" (the
// fraction without trailing zeros, absent when zero).
std::string GoTimeString(int64_t seconds, int32_t nanos);

}  // namespace liman::ctr
