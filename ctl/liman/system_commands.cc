// version, info and system df: the client's and the daemon's, as docker prints them.
#include <sys/utsname.h>

#include "common/status.h"
#include "ctl/liman-ctr/table.h"
#include "ctl/liman/cli.h"
#include "ctl/liman/format.h"
#include "fmt/format.h"

namespace liman::cli {

using nlohmann::json;

namespace {

// Go's GOARCH for the machine.
std::string GoArch() {
  struct utsname name {};
  uname(&name);
  std::string machine = name.machine;
  if (machine == "x86_64") return "amd64";
  if (machine == "aarch64") return "arm64";
  return machine;
}

// The field names docker's version template sees (Go struct fields, not the JSON keys).
json TemplateVersion(const json& server) {
  json out = server;
  out["APIVersion"] = server.value("ApiVersion", "");
  return out;
}

std::string Field(const json& object, const char* key) {
  if (!object.contains(key)) return "";
  return GoPrint(object[key]);
}

// docker's RECLAIMABLE column: the size, and its share of the total when there is one.
std::string Reclaimable(int64_t reclaimable, int64_t total) {
  std::string size = ctr::HumanSize(static_cast<double>(reclaimable));
  return total > 0 ? fmt::format("{} ({}%)", size, reclaimable * 100 / total) : size;
}

json DiskUsageRow(const char* type, size_t total, size_t active, int64_t size, int64_t reclaimable) {
  return json{{"Type", type},
              {"TotalCount", std::to_string(total)},
              {"Active", std::to_string(active)},
              {"Size", ctr::HumanSize(static_cast<double>(size))},
              {"Reclaimable", Reclaimable(reclaimable, size)}};
}

// docker system df's summary (formatter/disk_usage.go): an image in use holds its own layers
// (all but what it shares); a container's size is its writable layer; a volume counts when used.
std::vector<json> DiskUsageRows(const json& usage) {
  std::vector<json> rows;
  int64_t layers = usage.value("LayersSize", int64_t{0}), used = 0;
  size_t images = 0, active_images = 0;
  for (const json& image : usage.value("Images", json::array())) {
    ++images;
    if (image.value("Containers", int64_t{0}) == 0) continue;
    ++active_images;
    int64_t size = image.value("VirtualSize", int64_t{-1}), shared = image.value("SharedSize", int64_t{-1});
    if (size != -1 && shared != -1) used += size - shared;
  }
  rows.push_back(DiskUsageRow("Images", images, active_images, layers, layers - used));

  size_t containers = 0, running = 0;
  int64_t container_size = 0, stopped_size = 0;
  for (const json& container : usage.value("Containers", json::array())) {
    ++containers;
    int64_t rw = container.value("SizeRw", int64_t{0});
    container_size += rw;
    if (container.value("State", "") == "running") ++running; else stopped_size += rw;
  }
  rows.push_back(DiskUsageRow("Containers", containers, running, container_size, stopped_size));

  size_t volumes = 0, used_volumes = 0;
  int64_t volume_size = 0, unused_size = 0;
  for (const json& volume : usage.value("Volumes", json::array())) {
    ++volumes;
    json data = volume.value("UsageData", json::object());
    int64_t size = std::max<int64_t>(data.value("Size", int64_t{-1}), 0);
    volume_size += size;
    if (data.value("RefCount", int64_t{0}) > 0) ++used_volumes; else unused_size += size;
  }
  rows.push_back(DiskUsageRow("Local Volumes", volumes, used_volumes, volume_size, unused_size));
  rows.push_back(DiskUsageRow("Build Cache", 0, 0, 0, 0));
  return rows;
}

}  // namespace

void AddSystemCommands(CLI::App& app, CommandLine& line) {
  auto version_format = Options<std::string>();
  CLI::App* version = app.add_subcommand("version", "Show the liman version information");
  version->add_option("-f,--format", *version_format, "format the output using the given Go template");
  OnRun(version, line, [version_format](EngineClient& client) -> absl::StatusOr<int> {
    json client_info = {{"Platform", {{"Name", ""}}},
                        {"Version", LIMAN_VERSION},
                        {"ApiVersion", kApiVersion},
                        {"APIVersion", kApiVersion},
                        {"DefaultAPIVersion", kApiVersion},
                        {"GitCommit", ""},
                        {"GoVersion", "n/a (C++)"},
                        {"Os", "linux"},
                        {"Arch", GoArch()},
                        {"BuildTime", __DATE__ " " __TIME__},
                        {"Context", "default"},
                        {"Experimental", true}};
    absl::StatusOr<json> server = client.Call("GET", "/version");
    json data = {{"Client", client_info}, {"Server", server.ok() ? TemplateVersion(*server) : json(nullptr)}};
    if (!version_format->empty()) {
      LIMAN_ASSIGN_OR_RETURN(GoTemplate tmpl, GoTemplate::Parse(*version_format));
      LIMAN_ASSIGN_OR_RETURN(std::string text, tmpl.Render(data));
      WriteOut(text + "\n");
      return server.ok() ? 0 : (PrintError(server.status()), 1);
    }
    std::string text = fmt::format(
        "Client:\n Version:           {}\n API version:       {}\n Go version:        {}\n Built:             {}\n"
        " OS/Arch:           linux/{}\n Context:           default\n",
        LIMAN_VERSION, kApiVersion, "n/a (C++)", client_info["BuildTime"].get<std::string>(), GoArch());
    if (server.ok()) {
      const json& s = *server;
      text += fmt::format(
          "\nServer:\n Engine:\n  Version:          {}\n  API version:      {} (minimum version {})\n"
          "  Go version:       {}\n  Git commit:       {}\n  Built:            {}\n  OS/Arch:          {}/{}\n"
          "  Experimental:     {}\n",
          Field(s, "Version"), Field(s, "ApiVersion"), Field(s, "MinAPIVersion"), Field(s, "GoVersion"),
          Field(s, "GitCommit"), Field(s, "BuildTime"), Field(s, "Os"), Field(s, "Arch"), s.value("Experimental", false));
      if (s.contains("Components") && s["Components"].is_array())
        for (const json& component : s["Components"]) {
          if (component.value("Name", "") == "Engine") continue;
          text += fmt::format(" {}:\n  Version:          {}\n", component.value("Name", ""), component.value("Version", ""));
          if (component.contains("Details") && component["Details"].is_object())
            for (const auto& [key, value] : component["Details"].items())
              text += fmt::format("  {:<18}{}\n", key + ":", GoPrint(value));
        }
    }
    WriteOut(text);
    if (!server.ok()) {
      PrintError(server.status());
      return 1;
    }
    return 0;
  });

  auto info_format = Options<std::string>();
  CLI::App* info = app.add_subcommand("info", "Display system-wide information");
  info->add_option("-f,--format", *info_format, "format the output using the given Go template");
  OnRun(info, line, [info_format](EngineClient& client) -> absl::StatusOr<int> {
    LIMAN_ASSIGN_OR_RETURN(json s, client.Call("GET", "/info"));
    if (!info_format->empty()) {
      LIMAN_ASSIGN_OR_RETURN(GoTemplate tmpl, GoTemplate::Parse(*info_format));
      LIMAN_ASSIGN_OR_RETURN(std::string text, tmpl.Render(s));
      WriteOut(text + "\n");
      return 0;
    }
    std::string runtimes;
    if (s.contains("Runtimes") && s["Runtimes"].is_object())
      for (const auto& [name, unused] : s["Runtimes"].items()) runtimes += " " + name;
    std::string text = fmt::format(
        "Client:\n Context:    default\n Debug Mode: false\n\nServer:\n Containers: {}\n  Running: {}\n  Paused: {}\n"
        "  Stopped: {}\n Images: {}\n Server Version: {}\n Storage Driver: {}\n Logging Driver: {}\n"
        " Cgroup Driver: {}\n Cgroup Version: {}\n Runtimes:{}\n Default Runtime: {}\n Live Restore Enabled: {}\n"
        " Kernel Version: {}\n Operating System: {}\n OSType: {}\n Architecture: {}\n CPUs: {}\n Total Memory: {}\n"
        " Name: {}\n ID: {}\n Docker Root Dir: {}\n Debug Mode: {}\n",
        Field(s, "Containers"), Field(s, "ContainersRunning"), Field(s, "ContainersPaused"), Field(s, "ContainersStopped"),
        Field(s, "Images"), Field(s, "ServerVersion"), Field(s, "Driver"), Field(s, "LoggingDriver"),
        Field(s, "CgroupDriver"), Field(s, "CgroupVersion"), runtimes, Field(s, "DefaultRuntime"),
        Field(s, "LiveRestoreEnabled"), Field(s, "KernelVersion"), Field(s, "OperatingSystem"), Field(s, "OSType"),
        Field(s, "Architecture"), Field(s, "NCPU"), ctr::BytesSize(s.value("MemTotal", 0.0)), Field(s, "Name"),
        Field(s, "ID"), Field(s, "DockerRootDir"), Field(s, "Debug"));
    WriteOut(text);
    return 0;
  });

  CLI::App* system = app.add_subcommand("system", "Manage liman");
  system->require_subcommand(1);
  auto df_format = Options<std::string>();
  CLI::App* df = system->add_subcommand("df", "Show liman disk usage");
  df->add_option("--format", *df_format, "pretty-print images using a Go template");
  OnRun(df, line, [df_format](EngineClient& client) -> absl::StatusOr<int> {
    LIMAN_ASSIGN_OR_RETURN(json usage, client.Call("GET", "/system/df"));
    LIMAN_ASSIGN_OR_RETURN(std::string text,
                           FormatRows(*df_format, "{{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
                                      DiskUsageRows(usage), {{"TotalCount", "TOTAL"}}));
    WriteOut(text);
    return 0;
  });
}

}  // namespace liman::cli
