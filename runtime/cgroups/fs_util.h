// Helpers shared by every cgroup controller: reading and writing knobs with errors that name the
// file and the value, and parsing the few formats cgroupfs uses (single values, flat keyed
// "key value" files, cgroup.procs lists). Controllers never open cgroup files themselves.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/text_split.h"  // SplitLines, SplitFields
#include "runtime/cgroups/manager.h"  // CgroupFile

namespace liman::cgroups {

// The value the kernel prints for "no limit" in v1 byte counters (PAGE_COUNTER_MAX * PAGE_SIZE on
// 4k pages); like runc we report it as-is, and report v2's "max" as UINT64_MAX.
inline constexpr uint64_t kUnlimited = UINT64_MAX;

// Writes `value` into `dir`/`file` with a single write(2). O_TRUNC is a no-op on cgroupfs but lets
// the same code drive fixture directories made of regular files. Errors read
// `write "10" to "/sys/fs/cgroup/pids/x/pids.max": invalid argument` whether open or write failed.
absl::Status WriteKnob(const std::string& dir, std::string_view file, std::string_view value);

// Opens `dir`/`file` for a write that another process makes later (O_WRONLY | O_CLOEXEC).
absl::StatusOr<CgroupFile> OpenKnobForWrite(const std::string& dir, std::string_view file);
// Opens the cgroup directory `dir` itself (O_RDONLY | O_DIRECTORY | O_CLOEXEC), e.g. for clone3(2).
absl::StatusOr<UniqueFd> OpenCgroupDir(const std::string& dir);

// WriteKnob for cgroup v2: when the file is missing, the error also says whether the controller
// the file belongs to ("memory" for memory.max) is enabled for `dir` at all, which is the usual
// cause (see cgroup.subtree_control in Documentation/admin-guide/cgroup-v2.rst).
absl::Status WriteKnobV2(const std::string& dir, std::string_view file, std::string_view value);

// The file's content without its trailing newline.
absl::StatusOr<std::string> ReadKnob(const std::string& dir, std::string_view file);
// A single unsigned number; "max" (v2) reads as kUnlimited.
absl::StatusOr<uint64_t> ReadKnobUint(const std::string& dir, std::string_view file);
bool KnobExists(const std::string& dir, std::string_view file);

// A decimal number or "max"; `where` names the file for the error message.
absl::StatusOr<uint64_t> ParseUint(std::string_view text, std::string_view where);
// Flat keyed files ("key value" per line: memory.stat, cpu.stat, cgroup.events, memory.events).
absl::StatusOr<std::map<std::string, uint64_t>> ParseKeyValues(std::string_view text, std::string_view where);
absl::StatusOr<std::map<std::string, uint64_t>> ReadKeyValues(const std::string& dir, std::string_view file);
// One pid per line (cgroup.procs, tasks).
absl::StatusOr<std::vector<pid_t>> ParseProcs(std::string_view text, std::string_view where);
// cgroup.procs of `dir` and of every cgroup below it, sorted, without duplicates.
absl::StatusOr<std::vector<pid_t>> ReadProcsRecursive(const std::string& dir);

// Makes `dir` (below `mountpoint`) and its missing parents; returns the directories it created,
// top-down, so that Destroy can later remove those and only those.
absl::StatusOr<std::vector<std::string>> MakeCgroupDir(const std::string& mountpoint, const std::string& dir);

// Removes `dir` and every cgroup below it, children first. rmdir(2) of a cgroup fails with
// EBUSY while it still has tasks; right after the last one exits the kernel may still count it
// for a moment, so EBUSY is retried for about a second. Then removes `created` ancestors (as
// returned by MakeCgroupDir), deepest first, stopping at the first one still in use by others.
// A missing `dir` is fine.
absl::Status RemoveCgroupDir(const std::string& dir, const std::vector<std::string>& created);

// True when the status carries ENOENT (file or directory missing).
bool IsErrno(const absl::Status& status, int err);

// Sleeps between polls of a state file; used by freezers and rmdir retries.
void SleepMillis(int ms);

// Tests observe every knob write (in order) to check the exact sequence, which a fixture file
// cannot show once it has been overwritten. Passing nullptr removes the observer.
using KnobWriteObserver = std::function<void(const std::string& path, std::string_view value)>;
void SetKnobWriteObserverForTesting(KnobWriteObserver observer);

}  // namespace liman::cgroups
