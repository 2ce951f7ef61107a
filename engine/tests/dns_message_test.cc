#include "engine/network/dns_message.h"

#include <catch2/catch.hpp>
#include <random>

namespace liman::engine::network {
namespace {

// A query as a stub resolver sends it: id, RD, one question.
std::string Query(uint16_t id, const std::vector<std::string>& labels, uint16_t type) {
  std::string packet{static_cast<char>(id >> 8), static_cast<char>(id & 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  for (const std::string& label : labels) {
    packet.push_back(static_cast<char>(label.size()));
    packet += label;
  }
  packet.push_back(0);
  packet += {static_cast<char>(type >> 8), static_cast<char>(type & 0xff), 0, 1};
  return packet;
}

uint8_t Byte(const std::string& s, size_t i) { return static_cast<uint8_t>(s.at(i)); }
uint16_t Word(const std::string& s, size_t i) { return static_cast<uint16_t>((Byte(s, i) << 8) | Byte(s, i + 1)); }

DnsResolver Table() {
  return [](const std::string& name) -> std::optional<std::vector<uint32_t>> {
    if (name == "web") return std::vector<uint32_t>{0xac1f0702, 0xac1f0802};
    if (name == "idle") return std::vector<uint32_t>{};
    return std::nullopt;
  };
}

TEST_CASE("ParseDnsQuery reads the header and the question, name in lower case") {
  absl::StatusOr<DnsQuery> query = ParseDnsQuery(Query(0x1234, {"Web", "Net"}, kDnsTypeA));
  REQUIRE(query.ok());
  CHECK(query->id == 0x1234);
  CHECK(query->recursion_desired);
  CHECK(query->name == "web.net");
  CHECK(query->type == kDnsTypeA);
  CHECK(query->klass == kDnsClassIn);
  CHECK(query->question.size() == 1 + 3 + 1 + 3 + 1 + 4);
}

TEST_CASE("AnswerDnsQuery answers A records for a known name") {
  std::string answer = AnswerDnsQuery(Query(7, {"web"}, kDnsTypeA), Table());
  REQUIRE(answer.size() == 12 + 9 + 2 * 16);
  CHECK(Word(answer, 0) == 7);
  CHECK((Word(answer, 2) & 0x8000) != 0);  // a response
  CHECK((Word(answer, 2) & 0x0100) != 0);  // RD echoed
  CHECK((Word(answer, 2) & 0xf) == kDnsNoError);
  CHECK(Word(answer, 4) == 1);
  CHECK(Word(answer, 6) == 2);
  size_t record = 12 + 9;
  CHECK(Word(answer, record) == 0xc00c);
  CHECK(Word(answer, record + 2) == kDnsTypeA);
  CHECK(Word(answer, record + 10) == 4);
  CHECK(Byte(answer, record + 12) == 172);
  CHECK(Byte(answer, record + 13) == 31);
  CHECK(Byte(answer, record + 14) == 7);
  CHECK(Byte(answer, record + 15) == 2);
}

TEST_CASE("AnswerDnsQuery: NXDOMAIN for unknown names, empty NOERROR for other types of known ones") {
  std::string unknown = AnswerDnsQuery(Query(8, {"nope"}, kDnsTypeA), Table());
  REQUIRE(unknown.size() >= 12);
  CHECK((Word(unknown, 2) & 0xf) == kDnsNxDomain);
  CHECK(Word(unknown, 6) == 0);

  std::string aaaa = AnswerDnsQuery(Query(9, {"web"}, kDnsTypeAAAA), Table());
  REQUIRE(aaaa.size() >= 12);
  CHECK((Word(aaaa, 2) & 0xf) == kDnsNoError);
  CHECK(Word(aaaa, 6) == 0);
}

TEST_CASE("Malformed packets get FORMERR or no answer, never a read past the end") {
  CHECK(AnswerDnsQuery("", Table()).empty());
  CHECK(AnswerDnsQuery(std::string("\x00\x01", 2), Table()).empty());
  // A response is never answered (no loops between servers).
  std::string response = Query(1, {"web"}, kDnsTypeA);
  response[2] = static_cast<char>(0x81);
  CHECK(AnswerDnsQuery(response, Table()).empty());

  auto rcode = [](const std::string& packet) {
    std::string answer = AnswerDnsQuery(packet, Table());
    REQUIRE(answer.size() >= 12);
    return Word(answer, 2) & 0xf;
  };
  std::string good = Query(2, {"web"}, kDnsTypeA);
  CHECK(rcode(good.substr(0, 11)) == kDnsFormErr);                // header cut short
  CHECK(rcode(good.substr(0, good.size() - 1)) == kDnsFormErr);   // class cut short
  CHECK(rcode(good.substr(0, 14)) == kDnsFormErr);                // label past the end
  std::string two = good;
  two[5] = 2;  // two questions
  CHECK(rcode(two) == kDnsFormErr);
  std::string pointer = good;
  pointer[12] = static_cast<char>(0xc0);  // compression in the question
  CHECK(rcode(pointer) == kDnsFormErr);
  CHECK(rcode(Query(3, {std::string(64, 'a')}, kDnsTypeA)) == kDnsFormErr);  // label > 63
  std::vector<std::string> long_name(5, std::string(60, 'b'));
  CHECK(rcode(Query(4, long_name, kDnsTypeA)) == kDnsFormErr);  // name > 255
  std::string notify = good;
  notify[2] = static_cast<char>(4 << 3);  // opcode NOTIFY
  CHECK(rcode(notify) == kDnsNotImp);
}

TEST_CASE("Random and truncated packets never crash the parser") {
  std::mt19937 random(42);
  std::string base = Query(5, {"web", "net"}, kDnsTypeA);
  for (int i = 0; i < 20000; ++i) {
    std::string packet = base.substr(0, random() % (base.size() + 1));
    for (size_t j = 0; j < packet.size(); ++j)
      if (random() % 4 == 0) packet[j] = static_cast<char>(random());
    if (random() % 8 == 0) packet.append(random() % 40, static_cast<char>(random()));
    std::string answer = AnswerDnsQuery(packet, Table());
    if (!answer.empty()) CHECK(answer.size() >= 12);
  }
}

}  // namespace
}  // namespace liman::engine::network
