#include "engine/network/bridge.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <unistd.h>

#include <charconv>
#include <memory>

#include "common/status.h"
#include "common/unique_fd.h"
#include "engine/network/netns.h"
#include "fmt/format.h"

namespace liman::engine::network {

namespace {

// libnl objects freed with their own put/free functions.
struct SockDeleter {
  void operator()(nl_sock* sock) const { nl_socket_free(sock); }
};
struct LinkDeleter {
  void operator()(rtnl_link* link) const { rtnl_link_put(link); }
};
struct AddrDeleter {
  void operator()(rtnl_addr* addr) const { rtnl_addr_put(addr); }
};
struct NlAddrDeleter {
  void operator()(nl_addr* addr) const { nl_addr_put(addr); }
};
struct RouteDeleter {
  void operator()(rtnl_route* route) const { rtnl_route_put(route); }
};
using Sock = std::unique_ptr<nl_sock, SockDeleter>;
using Link = std::unique_ptr<rtnl_link, LinkDeleter>;

absl::Status NlError(int error, std::string_view what) {
  return absl::InternalError(fmt::format("{}: {}", what, nl_geterror(error)));
}

absl::StatusOr<Sock> Connect() {
  Sock sock(nl_socket_alloc());
  if (!sock) return absl::ResourceExhaustedError("nl_socket_alloc");
  if (int error = nl_connect(sock.get(), NETLINK_ROUTE); error < 0) return NlError(error, "connect to rtnetlink");
  return sock;
}

absl::StatusOr<Link> GetLink(nl_sock* sock, const std::string& name) {
  rtnl_link* link = nullptr;
  if (int error = rtnl_link_get_kernel(sock, 0, name.c_str(), &link); error < 0)
    return error == -NLE_OBJ_NOTFOUND || error == -NLE_NODEV ? absl::NotFoundError(fmt::format("link {} not found", Quote(name)))
                                                              : NlError(error, fmt::format("get link {}", Quote(name)));
  return Link(link);
}

absl::Status SetUp(nl_sock* sock, rtnl_link* link, int master = 0) {
  Link change(rtnl_link_alloc());
  rtnl_link_set_flags(change.get(), IFF_UP);
  if (master > 0) rtnl_link_set_master(change.get(), master);
  if (int error = rtnl_link_change(sock, link, change.get(), 0); error < 0)
    return NlError(error, fmt::format("bring {} up", rtnl_link_get_name(link)));
  return absl::OkStatus();
}

absl::Status AddAddress(nl_sock* sock, int ifindex, const Ipv4Net& net) {
  std::unique_ptr<rtnl_addr, AddrDeleter> addr(rtnl_addr_alloc());
  nl_addr* local = nullptr;
  if (int error = nl_addr_parse(net.CidrText().c_str(), AF_INET, &local); error < 0) return NlError(error, "parse address");
  std::unique_ptr<nl_addr, NlAddrDeleter> local_owner(local);
  rtnl_addr_set_ifindex(addr.get(), ifindex);
  rtnl_addr_set_local(addr.get(), local);
  int error = rtnl_addr_add(sock, addr.get(), 0);
  if (error < 0 && error != -NLE_EXIST) return NlError(error, fmt::format("add address {}", net.CidrText()));
  return absl::OkStatus();
}

}  // namespace

std::string Ipv4Net::AddressText() const {
  in_addr in{htonl(address)};
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &in, text, sizeof text);
  return text;
}

std::string Ipv4Net::CidrText() const { return fmt::format("{}/{}", AddressText(), prefix); }

absl::StatusOr<Ipv4Net> ParseIpv4Net(const std::string& text) {
  size_t slash = text.find('/');
  in_addr in{};
  Ipv4Net net;
  if (slash == std::string::npos || ::inet_pton(AF_INET, text.substr(0, slash).c_str(), &in) != 1 ||
      std::from_chars(text.data() + slash + 1, text.data() + text.size(), net.prefix).ec != std::errc() ||
      net.prefix < 8 || net.prefix > 30)
    return absl::InvalidArgumentError(fmt::format("invalid IPv4 network {} (want ADDRESS/PREFIX, prefix 8..30)", Quote(text)));
  net.address = ntohl(in.s_addr);
  return net;
}

absl::Status EnsureBridge(const std::string& name, const Ipv4Net& gateway) {
  LIMAN_ASSIGN_OR_RETURN(Sock sock, Connect());
  absl::StatusOr<Link> bridge = GetLink(sock.get(), name);
  if (bridge.status().code() == absl::StatusCode::kNotFound) {
    Link created(rtnl_link_bridge_alloc());
    rtnl_link_set_name(created.get(), name.c_str());
    int error = rtnl_link_add(sock.get(), created.get(), NLM_F_CREATE);
    if (error < 0 && error != -NLE_EXIST) return NlError(error, fmt::format("create bridge {}", Quote(name)));
    bridge = GetLink(sock.get(), name);
  }
  if (!bridge.ok()) return bridge.status();
  LIMAN_RETURN_IF_ERROR(AddAddress(sock.get(), rtnl_link_get_ifindex(bridge->get()), gateway));
  return SetUp(sock.get(), bridge->get());
}

absl::Status DeleteLink(const std::string& name) {
  LIMAN_ASSIGN_OR_RETURN(Sock sock, Connect());
  absl::StatusOr<Link> link = GetLink(sock.get(), name);
  if (link.status().code() == absl::StatusCode::kNotFound) return absl::OkStatus();
  if (!link.ok()) return link.status();
  if (int error = rtnl_link_delete(sock.get(), link->get()); error < 0 && error != -NLE_OBJ_NOTFOUND)
    return NlError(error, fmt::format("delete link {}", Quote(name)));
  return absl::OkStatus();
}

absl::Status AttachToBridge(const Attachment& a) {
  LIMAN_ASSIGN_OR_RETURN(Sock sock, Connect());
  LIMAN_ASSIGN_OR_RETURN(Link bridge, GetLink(sock.get(), a.bridge));
  UniqueFd ns(::open(a.netns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) return ErrnoError(fmt::format("open {}", Quote(a.netns_path)));
  {
    // The pair is made with its peer already in the container's namespace, named eth0 there.
    Link veth(rtnl_link_veth_alloc());
    rtnl_link_set_name(veth.get(), a.host_veth.c_str());
    rtnl_link* peer = rtnl_link_veth_get_peer(veth.get());
    rtnl_link_set_name(peer, a.interface.c_str());
    rtnl_link_set_ns_fd(peer, ns.get());
    unsigned char mac[6] = {0x02, 0x42, static_cast<unsigned char>(a.address.address >> 24),
                            static_cast<unsigned char>(a.address.address >> 16),
                            static_cast<unsigned char>(a.address.address >> 8),
                            static_cast<unsigned char>(a.address.address)};
    std::unique_ptr<nl_addr, NlAddrDeleter> lladdr(nl_addr_build(AF_LLC, mac, sizeof mac));
    if (lladdr) rtnl_link_set_addr(peer, lladdr.get());
    rtnl_link_put(peer);
    if (int error = rtnl_link_add(sock.get(), veth.get(), NLM_F_CREATE | NLM_F_EXCL); error < 0)
      return NlError(error, fmt::format("create veth pair {}", Quote(a.host_veth)));
  }
  LIMAN_ASSIGN_OR_RETURN(Link host_end, GetLink(sock.get(), a.host_veth));
  LIMAN_RETURN_IF_ERROR(SetUp(sock.get(), host_end.get(), rtnl_link_get_ifindex(bridge.get())));

  return RunInNetns(a.netns_path, [&]() -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(Sock inner, Connect());
    LIMAN_ASSIGN_OR_RETURN(Link lo, GetLink(inner.get(), "lo"));
    LIMAN_RETURN_IF_ERROR(SetUp(inner.get(), lo.get()));
    LIMAN_ASSIGN_OR_RETURN(Link eth0, GetLink(inner.get(), a.interface));
    int ifindex = rtnl_link_get_ifindex(eth0.get());
    LIMAN_RETURN_IF_ERROR(AddAddress(inner.get(), ifindex, a.address));
    LIMAN_RETURN_IF_ERROR(SetUp(inner.get(), eth0.get()));
    if (!a.default_route) return absl::OkStatus();
    std::unique_ptr<rtnl_route, RouteDeleter> route(rtnl_route_alloc());
    nl_addr* dst = nullptr;
    nl_addr* gateway = nullptr;
    if (int error = nl_addr_parse("0.0.0.0/0", AF_INET, &dst); error < 0) return NlError(error, "parse default");
    std::unique_ptr<nl_addr, NlAddrDeleter> dst_owner(dst);
    Ipv4Net gw{a.gateway, 32};
    if (int error = nl_addr_parse(gw.AddressText().c_str(), AF_INET, &gateway); error < 0) return NlError(error, "parse gateway");
    std::unique_ptr<nl_addr, NlAddrDeleter> gateway_owner(gateway);
    rtnl_route_set_family(route.get(), AF_INET);
    rtnl_route_set_dst(route.get(), dst);
    rtnl_nexthop* hop = rtnl_route_nh_alloc();
    rtnl_route_nh_set_gateway(hop, gateway);
    rtnl_route_nh_set_ifindex(hop, ifindex);
    rtnl_route_add_nexthop(route.get(), hop);  // the route owns it now
    if (int error = rtnl_route_add(inner.get(), route.get(), NLM_F_CREATE); error < 0)
      return NlError(error, fmt::format("add the default route via {}", gw.AddressText()));
    return absl::OkStatus();
  });
}

std::string MacAddressFor(uint32_t address) {
  return fmt::format("02:42:{:02x}:{:02x}:{:02x}:{:02x}", address >> 24, (address >> 16) & 0xff, (address >> 8) & 0xff,
                     address & 0xff);
}

absl::StatusOr<std::string> FreeInterfaceName(const std::string& netns_path) {
  std::string name;
  LIMAN_RETURN_IF_ERROR(RunInNetns(netns_path, [&]() -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(Sock inner, Connect());
    for (int n = 0; n < 1000; ++n) {
      absl::StatusOr<Link> link = GetLink(inner.get(), fmt::format("eth{}", n));
      if (link.status().code() == absl::StatusCode::kNotFound) {
        name = fmt::format("eth{}", n);
        return absl::OkStatus();
      }
      if (!link.ok()) return link.status();
    }
    return absl::ResourceExhaustedError(fmt::format("no free interface name in {}", Quote(netns_path)));
  }));
  return name;
}

}  // namespace liman::engine::network
