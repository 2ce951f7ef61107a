// The DNS wire format (RFC 1035) as far as the embedded DNS server needs it: one question of a
// query parsed, and the answer built with A records. Everything from the network is untrusted:
// a malformed packet is an error or a FORMERR answer, never a read past its end.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace liman::engine::network {

inline constexpr uint16_t kDnsTypeA = 1;
inline constexpr uint16_t kDnsTypeAAAA = 28;
inline constexpr uint16_t kDnsClassIn = 1;

inline constexpr uint8_t kDnsNoError = 0;
inline constexpr uint8_t kDnsFormErr = 1;
inline constexpr uint8_t kDnsServFail = 2;
inline constexpr uint8_t kDnsNxDomain = 3;
inline constexpr uint8_t kDnsNotImp = 4;

struct DnsQuery {
  uint16_t id = 0;
  bool recursion_desired = false;
  uint8_t opcode = 0;
  std::string name;  // lower case, no trailing dot ("" for the root)
  uint16_t type = 0;
  uint16_t klass = 0;
  std::string question;  // the question section's bytes, echoed in the answer
};

// The query's header and its single question. kInvalidArgument for anything shorter than a
// header, a response, a question count other than 1, a bad name (label > 63 bytes, name > 255,
// compression pointers, running past the end).
absl::StatusOr<DnsQuery> ParseDnsQuery(std::string_view packet);

// The response to `query`: `rcode`, and one A record per address (host order).
std::string BuildDnsResponse(const DnsQuery& query, uint8_t rcode, const std::vector<uint32_t>& addresses,
                             uint32_t ttl = 600);

// Addresses for a name (lower case, no trailing dot); nullopt: no such name.
using DnsResolver = std::function<std::optional<std::vector<uint32_t>>(const std::string& name)>;

// What the server sends back for `packet`: A records for a known name, an empty NOERROR for
// another type of a known name (so resolvers asking AAAA too do not give up), NXDOMAIN for an
// unknown one, FORMERR/NOTIMP for queries it cannot serve. "" when nothing should be sent (too
// short to carry an id, or not a query).
std::string AnswerDnsQuery(std::string_view packet, const DnsResolver& resolver);

// As AnswerDnsQuery, but nullopt for the queries a server with upstream resolvers passes on
// (moby's resolver forwards them): a standard IN query for a name `resolver` does not know.
std::optional<std::string> AnswerDnsQueryOrForward(std::string_view packet, const DnsResolver& resolver);

// SERVFAIL for a query nobody could answer; "" for a packet that is not a parsable query.
std::string ServerFailure(std::string_view packet);

}  // namespace liman::engine::network
