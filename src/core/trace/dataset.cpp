#include "fibkit/core/trace/dataset.hpp"

#include "fibkit/core/trace/embedded.hpp"
#include "fibkit/util/env.hpp"

#include <algorithm>
#include <cstdlib>

namespace fibkit::core {

TraceSet load_embedded_examples() {
  static constexpr std::string_view prefix = "examples/";
  // Same order as the directory walk: definitions, solutions, workloads, traces; sorted within.
  const auto group = [](std::string_view path) {
    for (int i = 0; i < 4; ++i) {
      static constexpr std::string_view dirs[] = {"definitions/", "solutions/", "workloads/",
                                                  "traces/"};
      if (path.rfind(dirs[i], 0) == 0) {
        return i;
      }
    }
    return 4;
  };
  std::vector<DatasetFile> files;
  for (const EmbeddedFile& f : embedded_files()) {
    if (f.path.rfind(prefix, 0) == 0) {
      const std::string rel(f.path.substr(prefix.size()));
      files.push_back({rel, std::string(f.content), "<embedded>/" + rel});
    }
  }
  std::stable_sort(files.begin(), files.end(), [&](const DatasetFile& a, const DatasetFile& b) {
    return std::make_pair(group(a.path), a.path) < std::make_pair(group(b.path), b.path);
  });
  return load_trace_set_files(files);
}

DatasetSource dataset_source(const std::optional<std::string>& flag) {
  if (flag && !flag->empty()) {
    return {*flag, "--dataset"};
  }
  if (std::string env = util::env_var("FIB_DATASET_PATH"); !env.empty()) {
    return {env, "$FIB_DATASET_PATH"};
  }
  return {"", "default"};
}

Dataset load_dataset(const std::optional<std::string>& flag) {
  const DatasetSource source = dataset_source(flag);
  if (source.path.empty()) {
    return {load_embedded_examples(), "embedded examples", true};
  }
  return {load_trace_set(source.path), source.path, false};
}

} // namespace fibkit::core
