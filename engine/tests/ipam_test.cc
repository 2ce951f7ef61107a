#include "engine/network/ipam.h"

#include <catch2/catch.hpp>

namespace liman::engine::network {
namespace {

Ipv4Net Net(const std::string& text) {
  absl::StatusOr<Ipv4Net> net = ParseIpv4Net(text);
  REQUIRE(net.ok());
  return *net;
}

TEST_CASE("Overlaps compares under the wider network's mask") {
  CHECK(Overlaps(Net("172.28.0.1/24"), Net("172.28.0.0/16")));
  CHECK(Overlaps(Net("172.28.0.0/16"), Net("172.28.5.0/24")));
  CHECK_FALSE(Overlaps(Net("172.28.1.0/24"), Net("172.28.0.0/24")));
  CHECK_FALSE(Overlaps(Net("10.0.0.0/8"), Net("172.28.0.0/24")));
}

TEST_CASE("AllocateSubnet takes the first free /24 of 172.28.0.0/15") {
  absl::StatusOr<Ipv4Net> first = AllocateSubnet({});
  REQUIRE(first.ok());
  CHECK(first->CidrText() == "172.28.0.1/24");

  absl::StatusOr<Ipv4Net> next = AllocateSubnet({Net("172.28.0.1/24"), Net("172.28.1.0/24")});
  REQUIRE(next.ok());
  CHECK(next->CidrText() == "172.28.2.1/24");

  // A host route covering a whole /16 pushes it into the next one.
  absl::StatusOr<Ipv4Net> past = AllocateSubnet({Net("172.28.0.0/16")});
  REQUIRE(past.ok());
  CHECK(past->CidrText() == "172.29.0.1/24");

  absl::StatusOr<Ipv4Net> none = AllocateSubnet({Net("172.28.0.0/15")});
  CHECK(none.status().code() == absl::StatusCode::kResourceExhausted);
}

TEST_CASE("AllocateAddress skips the network, gateway, broadcast and used addresses") {
  Ipv4Net gateway = Net("172.31.7.1/24");
  absl::StatusOr<uint32_t> first = AllocateAddress(gateway, {});
  REQUIRE(first.ok());
  CHECK(Ipv4Net{*first, 24}.AddressText() == "172.31.7.2");

  std::set<uint32_t> used{Net("172.31.7.2/24").address, Net("172.31.7.3/24").address};
  absl::StatusOr<uint32_t> next = AllocateAddress(gateway, used);
  REQUIRE(next.ok());
  CHECK(Ipv4Net{*next, 24}.AddressText() == "172.31.7.4");

  // A gateway other than .1: .1 is free then.
  absl::StatusOr<uint32_t> low = AllocateAddress(Net("172.31.7.254/24"), {});
  REQUIRE(low.ok());
  CHECK(Ipv4Net{*low, 24}.AddressText() == "172.31.7.1");

  // /30: two host addresses, one the gateway.
  Ipv4Net tiny = Net("172.31.8.1/30");
  absl::StatusOr<uint32_t> only = AllocateAddress(tiny, {});
  REQUIRE(only.ok());
  CHECK(Ipv4Net{*only, 30}.AddressText() == "172.31.8.2");
  CHECK(AllocateAddress(tiny, {*only}).status().code() == absl::StatusCode::kResourceExhausted);
}

TEST_CASE("HostNetworks lists the loopback network") {
  absl::StatusOr<std::vector<Ipv4Net>> networks = HostNetworks();
  REQUIRE(networks.ok());
  bool loopback = false;
  for (const Ipv4Net& net : *networks) loopback = loopback || Overlaps(net, Net("127.0.0.1/8"));
  CHECK(loopback);
}

}  // namespace
}  // namespace liman::engine::network
