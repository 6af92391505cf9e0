#include "fibkit/core/trace/blobs.hpp"

#include "fibkit/util/error.hpp"
#include "fibkit/util/safetensors.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <memory>
#include <set>

namespace fibkit::core {

BlobReport check_blobs(const TraceSet& set, const Definition& def, bool embedded) {
  BlobReport report;
  std::set<std::string> paths;
  // Each file is opened once; a file that fails to open is reported once.
  std::map<std::string, std::shared_ptr<util::SafetensorsFile>> opened;
  std::set<std::string> failed;
  for (const Trace& t : set.workloads_of(def.name)) {
    const Workload& w = t.workload;
    std::map<std::string, std::int64_t> axes(w.axes.begin(), w.axes.end());
    for (const auto& [name, spec] : w.inputs) {
      if (spec.kind != InputSpec::Kind::safetensors) {
        continue;
      }
      const bool first = paths.insert(spec.path).second;
      const std::filesystem::path file = set.blob_path(spec.path);
      std::error_code ec;
      if (embedded || !std::filesystem::is_regular_file(file, ec)) {
        if (first) {
          report.missing.push_back(spec.path);
        }
        continue;
      }
      if (failed.count(spec.path)) {
        continue;
      }
      auto it = opened.find(spec.path);
      if (it == opened.end()) {
        try {
          it = opened
                   .emplace(spec.path, std::make_shared<util::SafetensorsFile>(
                                           util::SafetensorsFile::open(file)))
                   .first;
        } catch (const Error& e) {
          failed.insert(spec.path);
          report.invalid.push_back(e.what());
          continue;
        }
      }
      const std::string context = fmt::format("(workload {}, input \"{}\")", w.uuid, name);
      const std::string shown = file.string();
      const TensorSpec* input = def.find_input(name);
      if (!input) {
        report.invalid.push_back(
            fmt::format("{}: \"{}\" is not an input of {} {}", shown, name, def.name, context));
        continue;
      }
      const util::TensorInfo* tensor = it->second->find(spec.tensor_key);
      if (!tensor) {
        report.invalid.push_back(
            fmt::format("{}: no tensor \"{}\" {}", shown, spec.tensor_key, context));
        continue;
      }
      std::vector<std::int64_t> expected;
      try {
        expected = def.concrete_shape(*input, axes);
      } catch (const Error& e) {
        report.invalid.push_back(fmt::format("{} {}", e.what(), context));
        continue;
      }
      const std::vector<std::int64_t> actual(tensor->shape.begin(), tensor->shape.end());
      const auto want = util::st_dtype_from_definition(dtype_name(input->dtype));
      if (!want || *want != tensor->dtype || actual != expected) {
        report.invalid.push_back(fmt::format(
            "{}: tensor \"{}\" is {} [{}], the definition needs {} [{}] {}", shown, spec.tensor_key,
            util::st_dtype_name(tensor->dtype), fmt::join(actual, ", "), dtype_name(input->dtype),
            fmt::join(expected, ", "), context));
      }
    }
  }
  report.referenced = paths.size();
  return report;
}

} // namespace fibkit::core
