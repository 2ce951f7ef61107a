// Legacy links: parsing as moby's opts.ParseLink, the variables of links/links.go, and their
// replacement at each start under the container's own environment.
#include <catch2/catch.hpp>

#include "engine/daemon/legacy_links.h"

namespace liman::engine {
namespace {

using Strings = std::vector<std::string>;

TEST_CASE("links parse as NAME, NAME:ALIAS and the /NAME:/PARENT/ALIAS form inspect shows") {
  LinkSpec plain = ParseLink("db").value();
  CHECK((plain.name == "db" && plain.alias == "db"));
  LinkSpec aliased = ParseLink("db:store").value();
  CHECK((aliased.name == "db" && aliased.alias == "store"));
  LinkSpec shown = ParseLink("/db:/web/store").value();
  CHECK((shown.name == "db" && shown.alias == "store"));
  CHECK(ParseLink("").status().message() == "empty string specified for links");
  CHECK(ParseLink("a:b:c").status().message() == "bad format for links: a:b:c");
}

TEST_CASE("a link's variables: ports lowest first (tcp before udp), name, environment without HOME and PATH") {
  LinkedContainer link{"/web/my-db", "my-db", "172.17.0.2", {"80/tcp", "53/udp", "53/tcp"},
                       {"HOME=/root", "PATH=/bin", "PASSWORD=x=y", "BROKEN"}};
  CHECK(LinkEnvironment(link) == Strings{
                                     "MY_DB_PORT=tcp://172.17.0.2:53",
                                     "MY_DB_PORT_53_TCP=tcp://172.17.0.2:53",
                                     "MY_DB_PORT_53_TCP_ADDR=172.17.0.2",
                                     "MY_DB_PORT_53_TCP_PORT=53",
                                     "MY_DB_PORT_53_TCP_PROTO=tcp",
                                     "MY_DB_PORT_53_UDP=udp://172.17.0.2:53",
                                     "MY_DB_PORT_53_UDP_ADDR=172.17.0.2",
                                     "MY_DB_PORT_53_UDP_PORT=53",
                                     "MY_DB_PORT_53_UDP_PROTO=udp",
                                     "MY_DB_PORT_80_TCP=tcp://172.17.0.2:80",
                                     "MY_DB_PORT_80_TCP_ADDR=172.17.0.2",
                                     "MY_DB_PORT_80_TCP_PORT=80",
                                     "MY_DB_PORT_80_TCP_PROTO=tcp",
                                     "MY_DB_NAME=/web/my-db",
                                     "MY_DB_ENV_PASSWORD=x=y",
                                 });
  CHECK(LinkEnvironment({"/web/db", "db", "10.0.0.2", {}, {}}) == Strings{"DB_NAME=/web/db"});
}

TEST_CASE("each start replaces the earlier links' variables; the container's own ones win") {
  Strings env = {"PATH=/bin", "DB_NAME=/web/db", "DB_PORT=tcp://10.0.0.9:80", "DB_ENV_OLD=1", "DBX=keep", "MINE=1"};
  Strings own = {"PATH=/bin", "MINE=1", "DBX=keep"};
  CHECK(WithLinkEnvironment(env, own, {"db"}, {"DB_NAME=/web/db", "DB_ENV_NEW=2"}) ==
        Strings{"PATH=/bin", "DBX=keep", "MINE=1", "DB_NAME=/web/db", "DB_ENV_NEW=2"});
  Strings mine = {"PATH=/bin", "DB_NAME=mine"};
  CHECK(WithLinkEnvironment(mine, {"DB_NAME=mine"}, {"db"}, {"DB_NAME=/web/db", "DB_ENV_NEW=2"}) ==
        Strings{"PATH=/bin", "DB_NAME=mine", "DB_ENV_NEW=2"});
}

}  // namespace
}  // namespace liman::engine
