// containerd's rules for the names that travel with events and become path components
// (identifiers/validate.go): namespaces, container and exec ids, and each part of a topic.
#pragma once

#include <string_view>

#include "absl/status/status.h"

namespace liman::containerd::events {

// Letters and digits, runs joined by single '.', '_' or '-', at most 76 characters.
// InvalidArgument naming the identifier otherwise.
absl::Status ValidateIdentifier(std::string_view identifier);

// A topic is "/" followed by one or more identifiers joined by "/" ("/tasks/exit").
absl::Status ValidateTopic(std::string_view topic);

}  // namespace liman::containerd::events
