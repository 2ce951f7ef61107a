#include "integration/shimctl/wire_commands.h"

#include <unistd.h>

#include <string>

#include "absl/strings/escaping.h"
#include "common/file_util.h"
#include "common/status.h"
#include "common/ttrpc/client.h"
#include "common/ttrpc/frame.h"
#include "containerd/runtime/v2/task/shim.pb.h"
#include "fmt/format.h"
#include "integration/shimctl/connect.h"
#include "integration/shimctl/json_output.h"
#include "nlohmann/json.hpp"
#include "ttrpc/ttrpc.pb.h"

namespace liman::shimctl {
namespace {

absl::StatusOr<std::string> HexDecode(const std::string& hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return absl::InvalidArgumentError(fmt::format("hex payload {}: odd length", Quote(hex)));
  std::string bytes;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int high = nibble(hex[i]), low = nibble(hex[i + 1]);
    if (high < 0 || low < 0) return absl::InvalidArgumentError(fmt::format("hex payload {}: not hex", Quote(hex)));
    bytes += static_cast<char>(high << 4 | low);
  }
  return bytes;
}

std::string HexEncode(std::string_view bytes) {
  return absl::BytesToHexString(absl::string_view(bytes.data(), bytes.size()));
}

absl::Status Raw(const Invocation& inv) {
  LIMAN_ASSIGN_OR_RETURN(std::string payload, HexDecode(inv.args()[2]));
  LIMAN_ASSIGN_OR_RETURN(absl::Duration timeout, inv.Timeout());
  LIMAN_ASSIGN_OR_RETURN(ttrpc::Client client, ConnectShim(inv));
  LIMAN_ASSIGN_OR_RETURN(std::string response, client.Call(inv.args()[0], inv.args()[1], payload, timeout));
  return PrintJson({{"payload_hex", HexEncode(response)}}, inv.Value("field"));
}

// One frame the shim sent back; a response frame is decoded as ttrpc's Response.
nlohmann::json FrameJson(const ttrpc::Frame& frame) {
  nlohmann::json json = {{"stream_id", frame.stream_id},
                         {"type", static_cast<int>(frame.type)},
                         {"flags", frame.flags},
                         {"payload_hex", HexEncode(frame.payload)}};
  ::ttrpc::Response response;
  if (frame.type == ttrpc::MessageType::kResponse && response.ParseFromString(frame.payload)) {
    auto code = static_cast<absl::StatusCode>(response.status().code());
    json["status"] = absl::StatusCodeToString(code);
    json["message"] = response.status().message();
  }
  return json;
}

absl::Status SendBytes(const Invocation& inv) {
  LIMAN_ASSIGN_OR_RETURN(std::string bytes, ReadFile(inv.args()[0]));
  LIMAN_ASSIGN_OR_RETURN(absl::Duration timeout, inv.Timeout());
  LIMAN_ASSIGN_OR_RETURN(ttrpc::Client client, ConnectShim(inv));
  const absl::Time deadline = absl::Now() + timeout;

  nlohmann::json result = {{"frames", nlohmann::json::array()}, {"closed", false}};
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = write(client.fd(), bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      // EPIPE/ECONNRESET: the shim hung up before taking it all (SIGPIPE is ignored in main).
      result["closed"] = true;
      result["reason"] = ErrnoError(errno, "write").message();
      break;
    }
    written += static_cast<size_t>(n);
  }
  result["written"] = written;
  while (!result["closed"].get<bool>()) {
    absl::StatusOr<ttrpc::Frame> frame = ttrpc::ReadFrame(client.fd(), deadline);
    if (frame.ok()) {
      result["frames"].push_back(FrameJson(*frame));
      continue;
    }
    if (frame.status().code() == absl::StatusCode::kDeadlineExceeded) break;  // still open
    result["closed"] = true;  // EOF, ECONNRESET, or bytes that are not a frame
    result["reason"] = std::string(frame.status().message());
  }
  return PrintJson(result, inv.Value("field"));
}

absl::Status DecodeDelete(const Invocation& inv) {
  std::string input;
  char buffer[4096];
  for (;;) {
    ssize_t n = read(STDIN_FILENO, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, "read stdin");
    if (n == 0) break;
    input.append(buffer, static_cast<size_t>(n));
  }
  // A real DeleteResponse always says something (an exit time at least); nothing at all means
  // the shim printed nothing.
  if (input.empty()) return absl::InvalidArgumentError("decode-delete: empty input");
  containerd::task::v2::DeleteResponse response;
  if (!response.ParseFromString(input))
    return absl::InvalidArgumentError(fmt::format("decode-delete: {} bytes are not a DeleteResponse", input.size()));
  return PrintMessage(response, inv.Value("field"));
}

}  // namespace

std::vector<Command> WireCommands() {
  return {
      {{"raw", {}, {}, 3, 3, "SERVICE METHOD HEXPAYLOAD"}, Raw},
      {{"send-bytes", {}, {}, 1, 1, "FILE"}, SendBytes},
      {{"decode-delete", {}, {}, 0, 0, "< DELETE-RESPONSE"}, DecodeDelete},
  };
}

}  // namespace liman::shimctl
