#include "fibkit/core/eval/device_peaks.hpp"

#include "fibkit/util/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>

namespace fibkit::core {

namespace {

constexpr double k_tb = 1e12; // TB/s
constexpr double k_tf = 1e12; // TFLOP/s
constexpr double k_mib = 1048576.0;

/// Where the practical HBM ceilings come from (performance-anchors.md A6 finding 5 and B0).
const char* const k_measured_copy = "a large device-to-device copy measured by the fibkit "
                                    "project";

/// The table. Dense rates are half the datasheets' "with sparsity" figures.
std::vector<DevicePeaks> make_table() {
  std::vector<DevicePeaks> table;
  // performance-anchors.md B0: 3.35 TB/s, 989 / 1979 TF dense, 50 MiB L2 (measured); the
  // practical ceiling is the ~3.0 TB/s torch copy (a 1 GiB copy kernel reached 2.85 TB/s).
  table.push_back({"H100 SXM", 3.35 * k_tb, 989 * k_tf, 1979 * k_tf, 50 * k_mib,
                   "NVIDIA H100 Tensor Core GPU datasheet (H100 SXM column)", 3.0 * k_tb,
                   std::string(k_measured_copy) + ": ~3.0 TB/s (1 GiB copy kernel 2.85 TB/s); "
                                                  "BF16 GEMM measured 798 TF"});
  // Not in the notes: the H100 PCIe product brief gives 2.0 TB/s HBM2e, 1,513 (BF16) and
  // 3,026 (FP8) TFLOPS with sparsity, 50 MB L2.
  table.push_back({"H100 PCIe", 2.0 * k_tb, 756.5 * k_tf, 1513 * k_tf, 50 * k_mib,
                   "NVIDIA H100 PCIe product brief / H100 datasheet (PCIe column)", std::nullopt,
                   ""});
  // Not in the notes: the H100 datasheet's NVL column gives 3.9 TB/s HBM3, 1,671 (BF16) and
  // 3,341 (FP8) TFLOPS with sparsity.
  table.push_back({"H100 NVL", 3.9 * k_tb, 835.5 * k_tf, 1670.5 * k_tf, 50 * k_mib,
                   "NVIDIA H100 datasheet (H100 NVL column)", std::nullopt, ""});
  // performance-anchors.md B0: 4.8 TB/s, 989 / 1979 TF dense, 60 MB L2 (measured; the device
  // attribute counts MiB); practical ceiling ~4.3 TB/s.
  table.push_back({"H200 SXM", 4.8 * k_tb, 989 * k_tf, 1979 * k_tf, 60 * k_mib,
                   "NVIDIA H200 Tensor Core GPU datasheet (H200 SXM column)", 4.3 * k_tb,
                   std::string(k_measured_copy) + ": ~4.3 TB/s; BF16 GEMM measured 788 TF"});
  // Not in the notes: the H200 datasheet's NVL column gives 4.8 TB/s, 1,671 (BF16) and 3,341
  // (FP8) TFLOPS with sparsity; same die as the SXM part.
  table.push_back({"H200 NVL", 4.8 * k_tb, 835.5 * k_tf, 1670.5 * k_tf, 60 * k_mib,
                   "NVIDIA H200 datasheet (H200 NVL column)", std::nullopt, ""});
  // performance-anchors.md B0: B200 (HGX, 1000 W) 8.0 TB/s, 2250 / 4500 TF dense, 126 MB L2.
  // The ~6.5 TB/s practical figure is the notes' expectation (A8 item 4: 6.5-7 TB/s; B1), not
  // a measurement.
  table.push_back({"B200", 8.0 * k_tb, 2250 * k_tf, 4500 * k_tf, 126 * k_mib,
                   "NVIDIA HGX B200 specifications (B200, 1000 W); L2 from the NVIDIA Blackwell "
                   "tuning guide",
                   6.5 * k_tb,
                   "expected 6.5-7 TB/s for a large copy; not measured by the fibkit project"});
  // performance-anchors.md B0 notes: the GB200 variant (1200 W) has 2.5 PF BF16 and 5 PF FP8.
  table.push_back({"GB200", 8.0 * k_tb, 2500 * k_tf, 5000 * k_tf, 126 * k_mib,
                   "NVIDIA GB200 NVL72 datasheet (per GPU, 1200 W); HBM and L2 as B200",
                   std::nullopt, ""});
  return table;
}

/// The words of a device name, upper-cased ("NVIDIA H100 80GB HBM3" -> NVIDIA, H100, 80GB, HBM3).
std::vector<std::string> words_of(std::string_view name) {
  std::vector<std::string> words;
  std::string word;
  for (const char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.') {
      word += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    } else if (!word.empty()) {
      words.push_back(word);
      word.clear();
    }
  }
  if (!word.empty()) {
    words.push_back(word);
  }
  return words;
}

} // namespace

const std::vector<DevicePeaks>& known_device_peaks() {
  static const std::vector<DevicePeaks> table = make_table();
  return table;
}

std::optional<DevicePeaks> find_device_peaks(std::string_view device_name) {
  const std::vector<std::string> words = words_of(device_name);
  const auto has = [&](std::string_view word) {
    return std::find(words.begin(), words.end(), word) != words.end();
  };
  // A MIG slice has a fraction of the SMs and bandwidth: whole-GPU peaks would mislead.
  if (has("MIG")) {
    return std::nullopt;
  }
  std::string_view model;
  if (has("H100")) {
    model = has("NVL") ? "H100 NVL" : has("PCIE") ? "H100 PCIe" : "H100 SXM";
  } else if (has("H200")) {
    model = has("NVL") ? "H200 NVL" : "H200 SXM";
  } else if (has("B200")) {
    model = "B200";
  } else if (has("GB200")) {
    model = "GB200";
  } else {
    return std::nullopt;
  }
  for (const DevicePeaks& peaks : known_device_peaks()) {
    if (peaks.model == model) {
      return peaks;
    }
  }
  return std::nullopt;
}

bool uses_fp8_tensor_cores(const Definition& definition) {
  return std::any_of(definition.inputs.begin(), definition.inputs.end(), [](const TensorSpec& in) {
    return in.dtype == DType::float8_e4m3fn || in.dtype == DType::float8_e5m2;
  });
}

Roofline roofline(const Cost& cost, double seconds, const DevicePeaks& peaks, bool fp8) {
  if (!(seconds > 0.0) || !std::isfinite(seconds)) {
    throw Error(fmt::format("roofline: the latency must be positive, got {} s", seconds));
  }
  const double flop_peak = fp8 ? peaks.fp8_dense_flops : peaks.bf16_dense_flops;
  if (!(peaks.hbm_bytes_per_s > 0.0) || !(flop_peak > 0.0)) {
    throw Error(fmt::format("roofline: {} has no {} peak", peaks.model,
                            peaks.hbm_bytes_per_s > 0.0 ? (fp8 ? "FP8" : "BF16") : "HBM"));
  }
  Roofline result;
  result.achieved_bytes_per_s = cost.bytes / seconds;
  result.achieved_flops_per_s = cost.flops / seconds;
  result.bw_fraction = result.achieved_bytes_per_s / peaks.hbm_bytes_per_s;
  result.flop_fraction = result.achieved_flops_per_s / flop_peak;
  result.bound = result.bw_fraction >= result.flop_fraction ? "memory" : "compute";
  if (peaks.practical_hbm_bytes_per_s && *peaks.practical_hbm_bytes_per_s > 0.0) {
    result.practical_bw_fraction = result.achieved_bytes_per_s / *peaks.practical_hbm_bytes_per_s;
  }
  return result;
}

} // namespace fibkit::core
