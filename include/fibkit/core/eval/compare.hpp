// The official correctness rules of flashinfer-bench's evaluators (bench/evaluators/*.py,
// bench/utils.py::compute_error_stats), applied to output tensors copied to the host: tolerance
// resolution, the error statistics in float32 arithmetic, evaluator selection by definition name
// (Default, LowBit, DsaSparseAttention, DsaTopkIndexer) and the merge of several trials.
#pragma once

#include "fibkit/core/eval/traits.hpp"
#include "fibkit/core/trace/definition.hpp"
#include "fibkit/core/trace/dtype.hpp"
#include "fibkit/core/trace/trace.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fibkit::core {

/// bfloat16 bits -> float (exact).
float bf16_to_float(std::uint16_t bits);
/// IEEE binary16 bits -> float (exact, subnormals, inf and NaN included).
float fp16_to_float(std::uint16_t bits);
/// float8_e4m3fn bits -> float (exact; no infinities, 0x7f and 0xff are NaN, max 448).
float fp8_e4m3fn_to_float(std::uint8_t bits);
/// float8_e5m2 bits -> float (exact; exponent 31 is inf (mantissa 0) or NaN).
float fp8_e5m2_to_float(std::uint8_t bits);

/// A contiguous row-major tensor on the host: raw little-endian element bytes.
struct HostTensor {
  DType dtype = DType::float32;    ///< element type (bytes per element: dtype_size)
  std::vector<std::int64_t> shape; ///< empty = 0-D (one element)
  std::vector<std::uint8_t> bytes; ///< numel() * dtype_size(dtype) bytes

  /// Product of the shape (1 for a 0-D tensor).
  std::size_t numel() const;
  /// Element `i` as `tensor.to(torch.float32)` gives it, widened to double: integers are rounded
  /// to float32, bool is 0/1. Throws fibkit::Error for float4_e2m1 (torch cannot convert it).
  double at(std::size_t i) const;
  /// Element `i` of an integer or bool tensor, exactly. Throws fibkit::Error for float dtypes.
  std::int64_t int_at(std::size_t i) const;
};

/// Throws fibkit::Error when `tensor.bytes` does not hold numel() elements of `element_size`
/// bytes or `element_size` is not the dtype's size.
void check_host_tensor(const HostTensor& tensor, std::size_t element_size);

/// A host tensor whose bytes are copied from `values` (the C++ type whose size matches `dtype`,
/// e.g. float for float32, std::uint16_t bits for bfloat16). Throws fibkit::Error when the
/// element size or the element count does not match.
template <typename T>
HostTensor make_host_tensor(DType dtype, std::vector<std::int64_t> shape,
                            const std::vector<T>& values) {
  HostTensor tensor{dtype, std::move(shape), {}};
  tensor.bytes.resize(values.size() * sizeof(T));
  if (!values.empty()) {
    std::memcpy(tensor.bytes.data(), values.data(), tensor.bytes.size());
  }
  check_host_tensor(tensor, sizeof(T));
  return tensor;
}

/// The tolerance of one evaluation (flashinfer-bench's ResolvedEvalConfig fields).
struct Tolerance {
  double atol = 1e-2; ///< absolute tolerance, > 0
  double rtol = 1e-2; ///< relative tolerance, > 0
  /// Fraction of elements that must match; nullopt = the evaluator's default (1.0, LowBit 0.95).
  std::optional<double> required_matched_ratio;
};

/// Named tolerance presets. `official`: flashinfer-bench's defaults. `contest`: the MLSys'26
/// EVALUATION.md commands (MoE: --atol 1 --rtol 0.3 --required-matched-ratio 0.9; the others
/// the defaults).
enum class TolerancePreset { official, contest };

/// Command-line tolerance flags; a set flag wins over the preset and the evaluator defaults.
struct ToleranceFlags {
  std::optional<double> atol;                   ///< --atol
  std::optional<double> rtol;                   ///< --rtol
  std::optional<double> required_matched_ratio; ///< --required-matched-ratio
  TolerancePreset preset = TolerancePreset::official;
};

/// Resolves the tolerance of `definition`: defaults (1e-2, 1e-2, none) <- bundled eval_config
/// (op_type "moe": ratio 0.95) <- preset <- flags; then the LowBit evaluator's 0.95 when no
/// ratio is set. Throws fibkit::UsageError for atol/rtol <= 0 or a ratio outside (0, 1].
Tolerance resolve_tolerance(const Definition& definition, const ToleranceFlags& flags = {});

/// The result of compute_error_stats.
struct ErrorStats {
  double max_abs = 0.0; ///< torch max of |x - y| (NaN if any element is NaN)
  double max_rel = 0.0; ///< torch max of |x - y| / (|y| + 1e-8)
  double matched_ratio = 1.0;
  bool exceeds = false; ///< matched_ratio < required ratio (1.0 when unset)
};

/// `bench/utils.py::compute_error_stats` exactly: both tensors are cast to float32, differences
/// and ratios are computed in float32, an element fails only when |x-y| > atol AND rel > rtol
/// (NaN comparisons are false, so NaN elements match); numel 0 gives (0, 0, 1, false). Throws
/// fibkit::Error when the element counts differ.
ErrorStats compute_error_stats(const HostTensor& output, const HostTensor& reference,
                               const Tolerance& tolerance);

/// The DsaTopkIndexer variant over two score rows (`_compute_sorted_score_error_stats`):
/// positions where both are NaN or both are infinite with the same sign match; a one-sided
/// non-finite position fails and forces both maxima to inf; finite positions use the usual rule.
ErrorStats compute_score_error_stats(const std::vector<float>& output,
                                     const std::vector<float>& reference,
                                     const Tolerance& tolerance);

/// The outcome of checking the outputs of one trial (or of several, merged).
struct OutputCheck {
  EvaluationStatus status = EvaluationStatus::passed; ///< the trace status
  /// Present for PASSED and INCORRECT_NUMERICAL (the official presence rules), absent for
  /// INCORRECT_SHAPE, INCORRECT_DTYPE and RUNTIME_ERROR.
  std::optional<Correctness> correctness;
  /// Why it failed (the official extra message where there is one), or "".
  std::string log;
  /// True when the official evaluator returns at this point, so later outputs and trials are
  /// never checked (shape, dtype, inf/NaN in the solution, invalid indexer indices).
  bool stopped = false;
  /// LowBit only: the smallest matched ratio over the compared outputs (Correctness.extra).
  std::optional<double> min_matched_ratio;
  /// The statistics of every output compared, in order.
  std::vector<ErrorStats> outputs;
};

/// Checks one trial's solution outputs against the reference outputs, in definition output
/// order, with the rules of the evaluator select_evaluator picks. `inputs` (the trial's inputs
/// in definition order, scalars as 0-D tensors) are read only by the DsaTopkIndexer evaluator.
/// Throws fibkit::Error for a sampling definition or indexer inputs that cannot be read.
OutputCheck check_outputs(const Definition& definition, const std::vector<HostTensor>& solution,
                          const std::vector<HostTensor>& reference, const Tolerance& tolerance,
                          const std::vector<HostTensor>& inputs = {});

/// Merges per-trial checks, in trial order, as the official loop over trials does: the first
/// stopped trial is the result; otherwise Python-max maxima over trials, INCORRECT_NUMERICAL if
/// any trial was, else PASSED, and (LowBit) the smallest matched ratio. Logs are joined by "\n".
OutputCheck merge_trials(const std::vector<OutputCheck>& trials);

} // namespace fibkit::core
