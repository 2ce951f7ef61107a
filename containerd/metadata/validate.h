// Input checks as containerd makes them (identifiers, labels, digests), with its wording.
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "containerd/core/content.h"

namespace liman::containerd::metadata {

// containerd's identifiers.Validate: 1–76 characters matching
// ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$ (kInvalidArgument otherwise).
absl::Status ValidateIdentifier(std::string_view id);

// A namespace name for any operation: kFailedPrecondition when empty ("namespace is required",
// as containerd answers a request without one), otherwise ValidateIdentifier.
absl::Status ValidateNamespace(std::string_view ns);

// containerd's labels.Validate for every pair: key and value together at most 4096 bytes.
// `what` names the field in the message ("image.Labels").
absl::Status ValidateLabels(const Labels& labels, std::string_view what);

// An OCI digest: "<algorithm>:<hex>" with sha256, sha384 or sha512 and the matching number of
// lower-case hex digits (go-digest's Validate).
absl::Status ValidateDigest(std::string_view digest);

}  // namespace liman::containerd::metadata
