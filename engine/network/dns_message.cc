#include "engine/network/dns_message.h"

#include "fmt/format.h"

namespace liman::engine::network {

namespace {

constexpr size_t kHeaderSize = 12;

uint16_t Read16(std::string_view data, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(data[at]) << 8) | static_cast<uint8_t>(data[at + 1]));
}

void Append16(std::string& out, uint16_t value) {
  out.push_back(static_cast<char>(value >> 8));
  out.push_back(static_cast<char>(value & 0xff));
}

void Append32(std::string& out, uint32_t value) {
  Append16(out, static_cast<uint16_t>(value >> 16));
  Append16(out, static_cast<uint16_t>(value & 0xffff));
}

// The header of an answer to a query with `id`: QR, AA (we are the authority for container
// names), RD echoed, RA (as Docker's resolver announces), and the counts.
std::string Header(uint16_t id, uint8_t opcode, bool rd, uint8_t rcode, uint16_t questions, uint16_t answers) {
  std::string out;
  Append16(out, id);
  uint16_t flags = 0x8000 | (static_cast<uint16_t>(opcode & 0xf) << 11) | 0x0400 | (rd ? 0x0100 : 0) | 0x0080 | (rcode & 0xf);
  Append16(out, flags);
  Append16(out, questions);
  Append16(out, answers);
  Append16(out, 0);
  Append16(out, 0);
  return out;
}

}  // namespace

absl::StatusOr<DnsQuery> ParseDnsQuery(std::string_view packet) {
  if (packet.size() < kHeaderSize) return absl::InvalidArgumentError("DNS message shorter than its header");
  DnsQuery query;
  query.id = Read16(packet, 0);
  uint16_t flags = Read16(packet, 2);
  if ((flags & 0x8000) != 0) return absl::InvalidArgumentError("DNS message is a response, not a query");
  query.opcode = static_cast<uint8_t>((flags >> 11) & 0xf);
  query.recursion_desired = (flags & 0x0100) != 0;
  uint16_t questions = Read16(packet, 4);
  if (questions != 1) return absl::InvalidArgumentError(fmt::format("DNS query with {} questions (want 1)", questions));
  size_t at = kHeaderSize;
  size_t name_length = 0;
  while (true) {
    if (at >= packet.size()) return absl::InvalidArgumentError("DNS name runs past the end of the message");
    uint8_t length = static_cast<uint8_t>(packet[at]);
    if ((length & 0xc0) != 0)
      return absl::InvalidArgumentError("DNS name in a question uses compression or a reserved label type");
    ++at;
    if (length == 0) break;
    if (at + length > packet.size()) return absl::InvalidArgumentError("DNS label runs past the end of the message");
    name_length += length + 1;
    if (name_length > 255) return absl::InvalidArgumentError("DNS name longer than 255 bytes");
    if (!query.name.empty()) query.name.push_back('.');
    for (size_t i = 0; i < length; ++i) {
      char c = packet[at + i];
      query.name.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
    }
    at += length;
  }
  if (at + 4 > packet.size()) return absl::InvalidArgumentError("DNS question without its type and class");
  query.type = Read16(packet, at);
  query.klass = Read16(packet, at + 2);
  at += 4;
  query.question = std::string(packet.substr(kHeaderSize, at - kHeaderSize));
  return query;
}

std::string BuildDnsResponse(const DnsQuery& query, uint8_t rcode, const std::vector<uint32_t>& addresses, uint32_t ttl) {
  size_t count = std::min<size_t>(addresses.size(), 64);  // stays well inside 512 bytes of UDP
  std::string out = Header(query.id, query.opcode, query.recursion_desired, rcode, 1, static_cast<uint16_t>(count));
  out += query.question;
  for (size_t i = 0; i < count; ++i) {
    Append16(out, 0xc000 | kHeaderSize);  // the name: a pointer to the question's
    Append16(out, kDnsTypeA);
    Append16(out, kDnsClassIn);
    Append32(out, ttl);
    Append16(out, 4);
    Append32(out, addresses[i]);
  }
  return out;
}

namespace {

// `forward`: nullopt for an unknown name instead of NXDOMAIN.
std::optional<std::string> Answer(std::string_view packet, const DnsResolver& resolver, bool forward) {
  if (packet.size() < 4 || (static_cast<uint8_t>(packet[2]) & 0x80) != 0) return "";
  absl::StatusOr<DnsQuery> query = ParseDnsQuery(packet);
  if (!query.ok()) {
    // Answer what can be answered: the id and opcode, no question (it could not be read).
    uint16_t id = Read16(packet, 0);
    uint8_t opcode = static_cast<uint8_t>((static_cast<uint8_t>(packet[2]) >> 3) & 0xf);
    return Header(id, opcode, (static_cast<uint8_t>(packet[2]) & 1) != 0, kDnsFormErr, 0, 0);
  }
  if (query->opcode != 0) return BuildDnsResponse(*query, kDnsNotImp, {});
  if (query->klass != kDnsClassIn) return BuildDnsResponse(*query, kDnsNotImp, {});
  std::optional<std::vector<uint32_t>> found = resolver(query->name);
  if (!found) {
    if (forward) return std::nullopt;
    return BuildDnsResponse(*query, kDnsNxDomain, {});
  }
  if (query->type != kDnsTypeA) return BuildDnsResponse(*query, kDnsNoError, {});
  return BuildDnsResponse(*query, kDnsNoError, *found);
}

}  // namespace

std::string AnswerDnsQuery(std::string_view packet, const DnsResolver& resolver) {
  return *Answer(packet, resolver, /*forward=*/false);
}

std::optional<std::string> AnswerDnsQueryOrForward(std::string_view packet, const DnsResolver& resolver) {
  return Answer(packet, resolver, /*forward=*/true);
}

std::string ServerFailure(std::string_view packet) {
  absl::StatusOr<DnsQuery> query = ParseDnsQuery(packet);
  return query.ok() ? BuildDnsResponse(*query, kDnsServFail, {}) : "";
}

}  // namespace liman::engine::network
