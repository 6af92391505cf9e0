// Datasheet peaks of the GPUs fibkit benchmarks on, and the roofline position of a measured
// latency against them. The figures are the dense (no sparsity) tensor-core rates and the HBM
// bandwidth of the vendor specifications, as the project's performance notes list them
// (performance-anchors.md Part B, B0 "Hardware ceilings"), plus the practical HBM ceilings the
// project measured with device-to-device copies (performance-anchors.md A6 finding 5, A8 item 4).
#pragma once

#include "fibkit/core/eval/cost_model.hpp"
#include "fibkit/core/trace/definition.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fibkit::core {

/// The peaks of one GPU model.
struct DevicePeaks {
  std::string model;             ///< e.g. "H100 SXM"
  double hbm_bytes_per_s = 0.0;  ///< datasheet HBM bandwidth
  double bf16_dense_flops = 0.0; ///< datasheet BF16 tensor-core FLOP/s, dense
  double fp8_dense_flops = 0.0;  ///< datasheet FP8 (e4m3) tensor-core FLOP/s, dense
  double l2_bytes = 0.0;         ///< L2 cache size (prefer the device attribute at run time)
  std::string source;            ///< where the figures come from
  /// The HBM bandwidth a large device-to-device copy reaches in practice, where known.
  std::optional<double> practical_hbm_bytes_per_s;
  std::string practical_note; ///< how the practical ceiling was obtained ("" when none)
};

/// The peaks of the GPU with CUDA device name `device_name` (cuDeviceGetName), or nullopt when
/// fibkit has no figures for it. Case-insensitive, by whole words: "NVIDIA H100 80GB HBM3" and
/// "NVIDIA H100" are the H100 SXM; "NVIDIA H100 PCIe", "NVIDIA H100 NVL", "NVIDIA H200",
/// "NVIDIA H200 NVL", "NVIDIA B200" and "NVIDIA GB200" their own models.
std::optional<DevicePeaks> find_device_peaks(std::string_view device_name);

/// Every model find_device_peaks knows, in table order.
const std::vector<DevicePeaks>& known_device_peaks();

/// True when the definition's matrix products run on FP8 tensor cores, i.e. when some input is
/// a float8 tensor (the MoE's activations and weights, the indexer's q and K cache); the FLOP
/// peak is then the FP8 one, else the BF16 one.
bool uses_fp8_tensor_cores(const Definition& definition);

/// Where a measured latency sits on the roofline.
struct Roofline {
  double achieved_bytes_per_s = 0.0; ///< cost.bytes / seconds
  double achieved_flops_per_s = 0.0; ///< cost.flops / seconds
  double bw_fraction = 0.0;          ///< achieved bytes/s over the datasheet HBM bandwidth
  double flop_fraction = 0.0;        ///< achieved FLOP/s over the FP8 or BF16 dense peak
  std::string bound; ///< "memory" or "compute": the resource with the higher fraction
  /// Achieved bytes/s over the practical HBM ceiling, where the device has one.
  std::optional<double> practical_bw_fraction;
};

/// The roofline position of `cost` run in `seconds` on `peaks`; `fp8` picks the FP8 FLOP peak
/// (see uses_fp8_tensor_cores), else BF16. A tie is "memory". Throws fibkit::Error when
/// `seconds` is not positive and finite.
Roofline roofline(const Cost& cost, double seconds, const DevicePeaks& peaks, bool fp8);

} // namespace fibkit::core
