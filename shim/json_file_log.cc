#include "shim/json_file_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>

#include "absl/strings/numbers.h"
#include "common/file_util.h"
#include "common/status.h"
#include "fmt/format.h"
#include "shim/rfc3339.h"

namespace liman::shim {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// The length of the valid UTF-8 sequence starting `text`, or 0 where Go's utf8.DecodeRune
// returns (RuneError, 1): a stray continuation byte, an overlong form, a surrogate, a code point
// above U+10FFFF or a sequence cut short. `code_point` gets the decoded value.
size_t DecodeUtf8(std::string_view text, uint32_t* code_point) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char first = byte(0);
  size_t length;
  unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
  if (first >= 0xC2 && first <= 0xDF) {
    length = 2;
  } else if (first >= 0xE0 && first <= 0xEF) {
    length = 3;
    if (first == 0xE0) low = 0xA0;   // overlong
    if (first == 0xED) high = 0x9F;  // surrogates
  } else if (first >= 0xF0 && first <= 0xF4) {
    length = 4;
    if (first == 0xF0) low = 0x90;   // overlong
    if (first == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (text.size() < length || byte(1) < low || byte(1) > high) return 0;
  for (size_t i = 2; i < length; ++i)
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  uint32_t value = first & (0xFF >> (length + 1));
  for (size_t i = 1; i < length; ++i) value = (value << 6) | (byte(i) & 0x3F);
  *code_point = value;
  return length;
}

absl::Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(fmt::format("write {}", Quote(path)));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view LogStreamName(LogStream stream) { return stream == LogStream::kStdout ? "stdout" : "stderr"; }

absl::StatusOr<int64_t> ParseByteSize(std::string_view text) {
  // ^(\d+(\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$, as go-units (which also takes "1.2.3" in its
  // pattern only to fail parsing the number).
  auto invalid = [&] { return absl::InvalidArgumentError(fmt::format("invalid size: {}", Quote(text))); };
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  std::string number(text.substr(0, i));
  if (number.empty() || !std::isdigit(static_cast<unsigned char>(number.front())) ||
      !std::isdigit(static_cast<unsigned char>(number.back())) || number.find('.') != number.rfind('.'))
    return invalid();
  std::string_view unit = text.substr(i);
  if (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  int64_t multiplier = 1;
  if (!unit.empty()) {
    switch (std::tolower(static_cast<unsigned char>(unit.front()))) {
      case 'k': multiplier = 1000LL; break;
      case 'm': multiplier = 1000LL * 1000; break;
      case 'g': multiplier = 1000LL * 1000 * 1000; break;
      case 't': multiplier = 1000LL * 1000 * 1000 * 1000; break;
      case 'p': multiplier = 1000LL * 1000 * 1000 * 1000 * 1000; break;
      default: multiplier = 0;
    }
    if (multiplier != 0) {
      unit.remove_prefix(1);
    } else {
      multiplier = 1;
    }
  }
  if (!unit.empty() && (unit.front() == 'i' || unit.front() == 'I')) unit.remove_prefix(1);
  if (!unit.empty() && (unit.front() == 'b' || unit.front() == 'B')) unit.remove_prefix(1);
  if (!unit.empty()) return invalid();
  double value;
  if (!absl::SimpleAtod(number, &value)) return invalid();
  double bytes = value * static_cast<double>(multiplier);
  if (bytes >= 9.2e18) return invalid();
  return static_cast<int64_t>(bytes);
}

absl::StatusOr<JsonFileLogOptions> JsonFileLogOptionsFromUri(const StdioUri& uri) {
  JsonFileLogOptions options;
  options.path = uri.path;
  for (const auto& [key, value] : uri.query) {
    if (key == "max-size") {
      LIMAN_ASSIGN_OR_RETURN(options.max_size, ParseByteSize(value));
      if (options.max_size <= 0) return absl::InvalidArgumentError("max-size must be a positive number");
    } else if (key == "max-file") {
      if (!absl::SimpleAtoi(value, &options.max_files))
        return absl::InvalidArgumentError(fmt::format("max-file {} is not a number", Quote(value)));
      if (options.max_files < 1) return absl::InvalidArgumentError("max-file cannot be less than 1");
    } else {
      return absl::InvalidArgumentError(fmt::format("unknown log opt {} for json-file log", Quote(key)));
    }
  }
  return options;
}

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    unsigned char b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      if (b >= 0x20 && b != '\\' && b != '"' && b != '<' && b != '>' && b != '&') {
        out->push_back(static_cast<char>(b));
      } else if (b == '\\' || b == '"') {
        out->push_back('\\');
        out->push_back(static_cast<char>(b));
      } else if (b == '\n') {
        out->append("\\n");
      } else if (b == '\r') {
        out->append("\\r");
      } else {
        out->append("\\u00");
        out->push_back(kHex[b >> 4]);
        out->push_back(kHex[b & 0xF]);
      }
      ++i;
      continue;
    }
    uint32_t code_point = 0;
    size_t length = DecodeUtf8(s.substr(i), &code_point);
    if (length == 0) {
      out->append("\\ufffd");
      ++i;
    } else if (code_point == 0x2028 || code_point == 0x2029) {
      // Valid JSON, but line terminators to JavaScript: encoding/json escapes them.
      out->append("\\u202");
      out->push_back(kHex[code_point & 0xF]);
      i += length;
    } else {
      out->append(s.substr(i, length));
      i += length;
    }
  }
  out->push_back('"');
}


std::string FormatJsonLogEntry(std::string_view log, std::string_view stream, absl::Time time) {
  std::string out = "{";
  if (!log.empty()) {
    out += "\"log\":";
    AppendJsonString(&out, log);
    out += ',';
  }
  if (!stream.empty()) {
    out += "\"stream\":";
    AppendJsonString(&out, stream);
    out += ',';
  }
  out += "\"time\":\"";
  out += FormatRfc3339Nano(time);
  out += "\"}\n";
  return out;
}

absl::StatusOr<std::unique_ptr<JsonFileLog>> JsonFileLog::Open(JsonFileLogOptions options) {
  LIMAN_RETURN_IF_ERROR(MkdirAll(ParentDirectory(options.path), 0755));
  UniqueFd fd(open(options.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  if (!fd) return ErrnoError(fmt::format("open {}", Quote(options.path)));
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return ErrnoError(fmt::format("stat {}", Quote(options.path)));
  if (!S_ISREG(st.st_mode))
    return absl::InvalidArgumentError(fmt::format("json-file log {} is not a regular file", Quote(options.path)));
  return std::unique_ptr<JsonFileLog>(new JsonFileLog(std::move(options), std::move(fd), st.st_size));
}

absl::Status JsonFileLog::Write(LogStream stream, std::string_view data) {
  StreamState& state = streams_[static_cast<int>(stream)];
  absl::Status first_error;
  auto keep_first = [&](absl::Status status) {
    if (first_error.ok()) first_error = std::move(status);
  };
  while (!data.empty()) {
    size_t newline = data.find('\n');
    size_t room = kMaxLineSize - state.pending.size();
    if (newline != std::string_view::npos && newline < room) {
      // A complete line: logged from the buffered start plus this piece, without a copy when
      // nothing was buffered.
      if (state.pending.empty()) {
        keep_first(Log(stream, data.substr(0, newline), /*complete=*/true));
      } else {
        state.pending.append(data.substr(0, newline));
        keep_first(Log(stream, state.pending, /*complete=*/true));
        state.pending.clear();
      }
      data.remove_prefix(newline + 1);
    } else if (data.size() >= room) {
      // The line fills the buffer with no newline in it: out as a partial piece (Docker does
      // the same when its 16 KiB buffer is full).
      state.pending.append(data.substr(0, room));
      keep_first(Log(stream, state.pending, /*complete=*/false));
      state.pending.clear();
      data.remove_prefix(room);
    } else {
      state.pending.append(data);
      data = {};
    }
  }
  return first_error;
}

absl::Status JsonFileLog::Flush(LogStream stream) {
  StreamState& state = streams_[static_cast<int>(stream)];
  if (state.pending.empty()) return absl::OkStatus();
  absl::Status status = Log(stream, state.pending, /*complete=*/false);
  state.pending.clear();
  state.partial_time.reset();
  return status;
}

absl::Status JsonFileLog::Log(LogStream stream, std::string_view line, bool complete) {
  StreamState& state = streams_[static_cast<int>(stream)];
  // The pieces of one long line share the time of the first (moby's copier: partialTS).
  absl::Time time = state.partial_time ? *state.partial_time : Now();
  if (complete) {
    state.partial_time.reset();
    std::string with_newline(line);
    with_newline.push_back('\n');
    return Append(FormatJsonLogEntry(with_newline, LogStreamName(stream), time));
  }
  state.partial_time = time;
  return Append(FormatJsonLogEntry(line, LogStreamName(stream), time));
}

absl::Status JsonFileLog::Append(std::string_view entry) {
  absl::Status rotated;
  // Rotate before a line that would take the file past max-size, so no file exceeds it (Docker
  // rotates once a file has reached it; a single line larger than max-size still gets written,
  // alone in its file).
  if (options_.max_size > 0 && size_ > 0 && size_ + static_cast<int64_t>(entry.size()) > options_.max_size)
    rotated = Rotate();
  absl::Status written = WriteAll(fd_.get(), entry, options_.path);
  if (written.ok()) size_ += static_cast<int64_t>(entry.size());
  return rotated.ok() ? written : rotated;
}

absl::Status JsonFileLog::Rotate() {
  const std::string& path = options_.path;
  if (options_.max_files < 2) {
    // One file only: start it again. O_APPEND puts the next write at the new end, 0.
    if (ftruncate(fd_.get(), 0) != 0) return ErrnoError(fmt::format("truncate {}", Quote(path)));
    size_ = 0;
    return absl::OkStatus();
  }
  // path.N-1 is dropped, path.i -> path.i+1, path -> path.1 (moby's loggerutils.rotate).
  std::string oldest = fmt::format("{}.{}", path, options_.max_files - 1);
  if (unlink(oldest.c_str()) != 0 && errno != ENOENT) return ErrnoError(fmt::format("remove {}", Quote(oldest)));
  for (int i = options_.max_files - 1; i > 1; --i) {
    std::string from = fmt::format("{}.{}", path, i - 1);
    std::string to = fmt::format("{}.{}", path, i);
    if (rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT)
      return ErrnoError(fmt::format("rename {} to {}", Quote(from), Quote(to)));
  }
  std::string first = path + ".1";
  if (rename(path.c_str(), first.c_str()) != 0)
    return ErrnoError(fmt::format("rename {} to {}", Quote(path), Quote(first)));
  // Until this open succeeds the old descriptor (now path.1) keeps receiving lines: none is lost.
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
  if (!fd) return ErrnoError(fmt::format("open {}", Quote(path)));
  fd_ = std::move(fd);
  size_ = 0;
  return absl::OkStatus();
}

}  // namespace liman::shim
