// Dockerfiles as the legacy builder reads them (moby's builder/dockerfile/parser and its
// instructions): instructions with their line continuations and comments, the JSON (exec) form,
// variable substitution, and the instructions that only change the image's config, which
// `docker commit --change` applies too.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace liman::engine {

struct DockerfileInstruction {
  std::string keyword;               // upper case: "RUN", "COPY"…
  std::string arguments;             // after the keyword, continuations joined with nothing between
  std::optional<std::vector<std::string>> exec_form;  // when the arguments are a JSON array of strings
  std::vector<std::string> flags;    // leading --name=value flags (COPY --chown=…, FROM --platform=…)
  int line = 0;                      // where it starts, from 1
  // As "Step n/m : …" shows it: the keyword and the arguments, flags included.
  std::string Text() const;
};

// kInvalidArgument naming the line for an unknown instruction or a Dockerfile without any.
absl::StatusOr<std::vector<DockerfileInstruction>> ParseDockerfile(std::string_view text);

// Variables as the builder substitutes them: $NAME, ${NAME}, ${NAME:-word}, ${NAME:+word};
// a backslash keeps the next character as it is. `lookup` answers nullopt for an unset name.
using VariableLookup = std::function<std::optional<std::string>(const std::string&)>;
absl::StatusOr<std::string> ExpandVariables(std::string_view text, const VariableLookup& lookup);

// Words separated by blanks, quotes removed ("a b" 'c' d\ e are three words) after each word's
// variables are substituted (none when `lookup` is empty).
absl::StatusOr<std::vector<std::string>> SplitWords(std::string_view text, const VariableLookup& lookup = {});

// An instruction's words with variables substituted: each element of the exec form, or the
// shell form split as SplitWords does (COPY's sources and destination, VOLUME's paths).
absl::StatusOr<std::vector<std::string>> InstructionWords(const DockerfileInstruction& instruction,
                                                          const VariableLookup& lookup);

// ENV's and LABEL's pairs: key=value… or, with a single pair, the older "key value words".
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseKeyValuePairs(const DockerfileInstruction& instruction,
                                                                                   const VariableLookup& lookup);

// The "Env" list of an image config as a lookup.
VariableLookup EnvLookup(const nlohmann::json& env);

// Applies a config-only instruction (CMD, ENTRYPOINT, ENV, LABEL, EXPOSE, USER, WORKDIR, VOLUME,
// STOPSIGNAL, ONBUILD) to an image config's "config" object, with the variables of the config's
// Env (and then of `build_args`) substituted where Docker substitutes them. `cmd_set` is whether
// a CMD came earlier in the same Dockerfile (or changes): without one, ENTRYPOINT drops the
// inherited Cmd. kInvalidArgument for any other instruction, naming it.
absl::Status ApplyConfigInstruction(const DockerfileInstruction& instruction, nlohmann::json& config, bool& cmd_set,
                                    const VariableLookup& build_args = {});

// The --change lines of docker commit and import (each a Dockerfile line of a config-only
// instruction) applied in order to `config`, as ApplyConfigInstruction applies them.
absl::Status ApplyConfigChanges(const std::vector<std::string>& changes, nlohmann::json& config);

// HEALTHCHECK's config ("Healthcheck"): NONE, or CMD in the exec or shell form with the
// --interval, --timeout, --start-period, --start-interval (Go durations) and --retries flags.
absl::StatusOr<nlohmann::json> HealthcheckConfig(const DockerfileInstruction& instruction);

}  // namespace liman::engine
