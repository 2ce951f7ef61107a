// Names on the wire of containerd's task API v2 that every shimctl command calling a shim needs.
#pragma once

namespace liman::shimctl {

inline constexpr char kTaskService[] = "containerd.task.v2.Task";
// The type URL of CreateTaskRequest.options: containerd's typeurl names gogo-registered messages
// by their full proto name, without a prefix.
inline constexpr char kRuncOptionsTypeUrl[] = "containerd.runc.v1.Options";

}  // namespace liman::shimctl
