// /etc/hosts and /etc/resolv.conf as limand writes them for --add-host and the --dns flags.
#include "engine/daemon/etc_files.h"

#include <catch2/catch.hpp>

namespace liman::engine {
namespace {

constexpr char kHostResolvConf[] =
    "# generated\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch corp.example\noptions edns0 trust-ad\nsortlist 10.0.0.0\n";

TEST_CASE("hosts: Docker's defaults, then --add-host entries in both spellings and host-gateway") {
  absl::StatusOr<std::string> hosts =
      HostsFile("", "web", {"db:10.1.2.3", "v6=fe80::1", "v6b:::1", "gw:host-gateway", "br:[2001:db8::5]"}, "172.30.0.1");
  REQUIRE(hosts.ok());
  CHECK(hosts->starts_with("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"));
  CHECK(hosts->ends_with("10.1.2.3\tdb\nfe80::1\tv6\n::1\tv6b\n172.30.0.1\tgw\n2001:db8::5\tbr\n"));
  CHECK(HostsFile("10.0.0.7", "web", {}, "")->ends_with("10.0.0.7\tweb\n"));
}

TEST_CASE("hosts: bad --add-host entries are refused in Docker's words") {
  CHECK(HostsFile("", "web", {"db:10.1.2"}, "").status().message() == "invalid IP address in add-host: \"10.1.2\"");
  CHECK(HostsFile("", "web", {"justaname"}, "").status().message() == "bad format for add-host: \"justaname\"");
  CHECK(HostsFile("", "web", {":10.0.0.1"}, "").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(HostsFile("", "web", {"gw:host-gateway"}, "").status().message().find("host-gateway") != std::string::npos);
}

TEST_CASE("resolv.conf: the host's without loopback servers; each flag replaces its kind of line") {
  absl::StatusOr<std::string> plain = ContainerResolvConf(kHostResolvConf, {});
  REQUIRE(plain.ok());
  CHECK(*plain == "nameserver 10.0.0.2\nsearch corp.example\noptions edns0 trust-ad\nsortlist 10.0.0.0\n");

  absl::StatusOr<std::string> flags =
      ContainerResolvConf(kHostResolvConf, {.servers = {"192.0.2.53", "2001:db8::53"}, .search = {"a.test", "b.test"}, .options = {"ndots:2"}});
  REQUIRE(flags.ok());
  CHECK(*flags == "nameserver 192.0.2.53\nnameserver 2001:db8::53\nsearch a.test b.test\noptions ndots:2\nsortlist 10.0.0.0\n");

  CHECK(*ContainerResolvConf(kHostResolvConf, {.search = {"."}}) ==
        "nameserver 10.0.0.2\noptions edns0 trust-ad\nsortlist 10.0.0.0\n");
  CHECK(*ContainerResolvConf("nameserver 127.0.0.1\n", {}) == "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
  CHECK(ContainerResolvConf(kHostResolvConf, {.servers = {"dns.example"}}).status().message() == "dns.example is not an ip address");
}

TEST_CASE("resolv.conf on a user network: the embedded server, ndots:0 unless an ndots option is given") {
  CHECK(EmbeddedDnsResolvConf(kHostResolvConf, {}, "127.0.0.11") ==
        "search corp.example\nnameserver 127.0.0.11\noptions ndots:0\n");
  CHECK(EmbeddedDnsResolvConf(kHostResolvConf, {.search = {"x.test"}, .options = {"ndots:3", "rotate"}}, "127.0.0.11") ==
        "search x.test\nnameserver 127.0.0.11\noptions ndots:3 rotate\n");
}

TEST_CASE("embedded DNS upstreams: --dns, else every host name server, loopback ones too") {
  CHECK(UpstreamNameservers(kHostResolvConf, {}) == std::vector<std::string>{"127.0.0.53", "10.0.0.2"});
  CHECK(UpstreamNameservers(kHostResolvConf, {.servers = {"192.0.2.53"}}) == std::vector<std::string>{"192.0.2.53"});
  CHECK(UpstreamNameservers("# nothing\n", {}).empty());
}

}  // namespace
}  // namespace liman::engine
