#include "fibkit/core/eval/compare.hpp"

#include "fibkit/util/error.hpp"
#include "fibkit/util/json_writer.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string_view>
#include <unordered_map>

namespace fibkit::core {

namespace {

constexpr double k_inf = std::numeric_limits<double>::infinity();
constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();
/// compute_error_stats' eps, as torch adds it to a float32 tensor (cast to float32).
constexpr float k_eps = 1e-8f;

template <typename T> T load(const std::uint8_t* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

float float_from_bits(std::uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

/// One element of a tensor as float32, selected once per tensor.
using Loader = float (*)(const std::uint8_t*);

Loader loader_for(DType dtype) {
  switch (dtype) {
  case DType::float32:
    return [](const std::uint8_t* p) { return load<float>(p); };
  case DType::float16:
    return [](const std::uint8_t* p) { return fp16_to_float(load<std::uint16_t>(p)); };
  case DType::bfloat16:
    return [](const std::uint8_t* p) { return bf16_to_float(load<std::uint16_t>(p)); };
  case DType::float8_e4m3fn:
    return [](const std::uint8_t* p) { return fp8_e4m3fn_to_float(*p); };
  case DType::float8_e5m2:
    return [](const std::uint8_t* p) { return fp8_e5m2_to_float(*p); };
  case DType::int64:
    return [](const std::uint8_t* p) { return static_cast<float>(load<std::int64_t>(p)); };
  case DType::int32:
    return [](const std::uint8_t* p) { return static_cast<float>(load<std::int32_t>(p)); };
  case DType::int16:
    return [](const std::uint8_t* p) { return static_cast<float>(load<std::int16_t>(p)); };
  case DType::int8:
    return [](const std::uint8_t* p) { return static_cast<float>(load<std::int8_t>(p)); };
  case DType::boolean:
    return [](const std::uint8_t* p) { return *p != 0 ? 1.0f : 0.0f; };
  case DType::float4_e2m1:
    break;
  }
  throw Error("float4_e2m1 tensors cannot be converted to float32 (torch cannot either)");
}

/// Python's `max(acc, value)`: `value` replaces `acc` only when it compares greater, so a NaN
/// never replaces a number.
double python_max(double acc, double value) {
  return value > acc ? value : acc;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

/// A Python list repr of integers: "[0, 2]".
std::string python_list(const std::vector<std::int64_t>& values) {
  return fmt::format("[{}]", fmt::join(values, ", "));
}

std::string output_name(const Definition& definition, std::size_t i) {
  if (i < definition.outputs.size()) {
    return "\"" + definition.outputs[i].name + "\"";
  }
  return fmt::format("#{}", i);
}

std::string matched_ratio_extra(double ratio) {
  util::JsonWriter out;
  out.begin_object().key("matched_ratio").value(ratio).end_object();
  return out.take();
}

OutputCheck stopped_check(EvaluationStatus status, std::string log) {
  OutputCheck check;
  check.status = status;
  check.log = std::move(log);
  check.stopped = true;
  return check;
}

// The first two official checks of an output: shape, then dtype (either stops the evaluation).
// Also checks that both tensors hold as many bytes as their shapes say.
std::optional<OutputCheck> check_shape_and_dtype(const std::string& name, const HostTensor& sol,
                                                 const HostTensor& ref) {
  if (sol.shape != ref.shape) {
    return stopped_check(EvaluationStatus::incorrect_shape,
                         fmt::format("output {}: shape {} differs from the reference {}", name,
                                     shape_text(sol.shape), shape_text(ref.shape)));
  }
  if (sol.dtype != ref.dtype) {
    return stopped_check(EvaluationStatus::incorrect_dtype,
                         fmt::format("output {}: dtype {} differs from the reference {}", name,
                                     dtype_name(sol.dtype), dtype_name(ref.dtype)));
  }
  check_host_tensor(sol, dtype_size(sol.dtype));
  check_host_tensor(ref, dtype_size(ref.dtype));
  return std::nullopt;
}

OutputCheck non_finite_check(double value, std::string log) {
  OutputCheck check = stopped_check(EvaluationStatus::incorrect_numerical, std::move(log));
  check.correctness = Correctness{value, value, ""};
  return check;
}

bool is_float_dtype(DType dtype) {
  return !dtype_is_integer(dtype);
}

// --- DsaTopkIndexer -----------------------------------------------------------------------

const HostTensor& indexer_input(const Definition& definition, const std::vector<HostTensor>& inputs,
                                std::string_view name, std::size_t rank) {
  for (std::size_t i = 0; i < definition.inputs.size(); ++i) {
    if (definition.inputs[i].name != name) {
      continue;
    }
    if (i >= inputs.size()) {
      throw Error(fmt::format("{}: input \"{}\" was not given to the indexer check",
                              definition.name, name));
    }
    const HostTensor& tensor = inputs[i];
    check_host_tensor(tensor, dtype_size(tensor.dtype));
    if (tensor.shape.size() != rank) {
      throw Error(fmt::format("{}: input \"{}\" has shape {}, expected {} dimensions",
                              definition.name, name, shape_text(tensor.shape), rank));
    }
    return tensor;
  }
  throw Error(fmt::format("{}: the indexer check needs an input \"{}\"", definition.name, name));
}

/// Torch's descending sort order: NaN first, then decreasing values.
bool descending_nan_first(float a, float b) {
  if (std::isnan(a)) {
    return !std::isnan(b);
  }
  if (std::isnan(b)) {
    return false;
  }
  return a > b;
}

OutputCheck check_indexer(const Definition& definition, const std::vector<HostTensor>& solution,
                          const std::vector<HostTensor>& reference, const Tolerance& tolerance,
                          const std::vector<HostTensor>& inputs) {
  if (solution.empty() || reference.empty()) {
    return stopped_check(EvaluationStatus::runtime_error,
                         "the indexer check needs the topk_indices output of both sides");
  }
  const HostTensor& sol = solution[0];
  const HostTensor& ref = reference[0];
  const std::string name = output_name(definition, 0);
  if (std::optional<OutputCheck> stop = check_shape_and_dtype(name, sol, ref)) {
    return *stop;
  }
  if (sol.shape.size() != 2 || !dtype_is_integer(sol.dtype)) {
    throw Error(fmt::format("{}: output {} must be a 2-D integer tensor", definition.name, name));
  }

  const Axis* page_axis = definition.find_axis("page_size");
  if (page_axis == nullptr || !page_axis->is_const || page_axis->value <= 0) {
    throw Error(fmt::format("{}: the indexer check needs a positive const axis \"page_size\"",
                            definition.name));
  }
  const std::int64_t page_size = page_axis->value;
  const HostTensor& q = indexer_input(definition, inputs, "q_index_fp8", 3);
  const HostTensor& k_cache = indexer_input(definition, inputs, "k_index_cache_fp8", 4);
  const HostTensor& weights = indexer_input(definition, inputs, "weights", 2);
  const HostTensor& seq_lens = indexer_input(definition, inputs, "seq_lens", 1);
  const HostTensor& block_table = indexer_input(definition, inputs, "block_table", 2);

  const std::int64_t batch = sol.shape[0];
  const std::int64_t width = sol.shape[1];
  const std::int64_t heads = q.shape[1];
  const std::int64_t head_dim = q.shape[2];
  const std::int64_t num_pages = k_cache.shape[0];
  const std::int64_t max_pages = block_table.shape[1];
  if (q.shape[0] != batch || weights.shape[0] != batch || weights.shape[1] != heads ||
      seq_lens.shape[0] != batch || block_table.shape[0] != batch ||
      k_cache.shape[1] != page_size || k_cache.shape[2] != 1 || k_cache.shape[3] != head_dim + 4 ||
      dtype_size(k_cache.dtype) != 1 || !dtype_is_integer(seq_lens.dtype) ||
      !dtype_is_integer(block_table.dtype)) {
    throw Error(
        fmt::format("{}: indexer inputs of inconsistent shapes or dtypes", definition.name));
  }

  // Validity (`_validate_indices`): every non-negative index must lie in a page of the row's
  // block table (first matching slot) at a position below seq_lens; no duplicates.
  std::vector<std::int64_t> out_of_range;
  std::vector<std::int64_t> duplicated;
  for (std::int64_t b = 0; b < batch; ++b) {
    const std::int64_t length = seq_lens.int_at(static_cast<std::size_t>(b));
    bool bad = false;
    std::vector<std::int64_t> row;
    for (std::int64_t j = 0; j < width; ++j) {
      const std::int64_t index = sol.int_at(static_cast<std::size_t>(b * width + j));
      if (index < 0) {
        continue;
      }
      row.push_back(index);
      const std::int64_t page = index / page_size;
      std::int64_t slot = -1;
      for (std::int64_t s = 0; s < max_pages; ++s) {
        if (block_table.int_at(static_cast<std::size_t>(b * max_pages + s)) == page) {
          slot = s;
          break;
        }
      }
      if (slot < 0 || slot * page_size + index % page_size >= length) {
        bad = true;
      }
    }
    if (bad) {
      out_of_range.push_back(b);
    }
    std::sort(row.begin(), row.end());
    if (std::adjacent_find(row.begin(), row.end()) != row.end()) {
      duplicated.push_back(b);
    }
  }
  if (!out_of_range.empty()) {
    return non_finite_check(k_inf, "out-of-range indices in batch " + python_list(out_of_range));
  }
  if (!duplicated.empty()) {
    return non_finite_check(k_inf, "duplicate indices in batch " + python_list(duplicated));
  }

  // Scores at the indices (`_dequant_all_pages`, `_compute_scores_at_indices`), float32.
  const std::size_t page_bytes = static_cast<std::size_t>(page_size * (head_dim + 4));
  const std::size_t data_bytes = static_cast<std::size_t>(page_size * head_dim);
  std::vector<float> q_row(static_cast<std::size_t>(heads * head_dim));
  std::vector<float> k_row(static_cast<std::size_t>(head_dim));
  std::unordered_map<std::int64_t, float> row_cache; // index -> score, for the current row
  const auto scores_of = [&](const HostTensor& indices, std::int64_t b) {
    std::vector<float> scores(static_cast<std::size_t>(width));
    for (std::int64_t j = 0; j < width; ++j) {
      const std::int64_t index = indices.int_at(static_cast<std::size_t>(b * width + j));
      if (index < 0) {
        scores[static_cast<std::size_t>(j)] = -std::numeric_limits<float>::infinity();
        continue;
      }
      if (const auto hit = row_cache.find(index); hit != row_cache.end()) {
        scores[static_cast<std::size_t>(j)] = hit->second;
        continue;
      }
      const std::int64_t page = index / page_size;
      const std::int64_t offset = index % page_size;
      if (page >= num_pages) {
        throw Error(fmt::format("{}: index {} of batch {} addresses page {} of {} in the K cache",
                                definition.name, index, b, page, num_pages));
      }
      const std::uint8_t* base = k_cache.bytes.data() + static_cast<std::size_t>(page) * page_bytes;
      const float scale = load<float>(base + data_bytes + static_cast<std::size_t>(offset) * 4);
      for (std::int64_t d = 0; d < head_dim; ++d) {
        k_row[static_cast<std::size_t>(d)] =
            fp8_e4m3fn_to_float(base[offset * head_dim + d]) * scale;
      }
      double total = 0.0;
      for (std::int64_t h = 0; h < heads; ++h) {
        double dot = 0.0;
        for (std::int64_t d = 0; d < head_dim; ++d) {
          dot += static_cast<double>(q_row[static_cast<std::size_t>(h * head_dim + d)]) *
                 k_row[static_cast<std::size_t>(d)];
        }
        const float relu = std::max(static_cast<float>(dot), 0.0f);
        const float weight =
            static_cast<float>(weights.at(static_cast<std::size_t>(b * heads + h)));
        total += static_cast<double>(relu * weight);
      }
      scores[static_cast<std::size_t>(j)] = static_cast<float>(total);
      row_cache.emplace(index, static_cast<float>(total));
    }
    std::sort(scores.begin(), scores.end(), descending_nan_first);
    return scores;
  };
  std::vector<float> sol_scores;
  std::vector<float> ref_scores;
  sol_scores.reserve(static_cast<std::size_t>(batch * width));
  ref_scores.reserve(static_cast<std::size_t>(batch * width));
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::size_t i = 0; i < q_row.size(); ++i) {
      q_row[i] = static_cast<float>(q.at(static_cast<std::size_t>(b) * q_row.size() + i));
    }
    row_cache.clear();
    const std::vector<float> r = scores_of(ref, b);
    const std::vector<float> s = scores_of(sol, b);
    ref_scores.insert(ref_scores.end(), r.begin(), r.end());
    sol_scores.insert(sol_scores.end(), s.begin(), s.end());
  }

  const ErrorStats stats = compute_score_error_stats(sol_scores, ref_scores, tolerance);
  OutputCheck check;
  check.outputs.push_back(stats);
  check.correctness =
      Correctness{python_max(0.0, stats.max_rel), python_max(0.0, stats.max_abs), ""};
  if (stats.exceeds) {
    check.status = EvaluationStatus::incorrect_numerical;
    check.log = fmt::format("score mismatch: max_abs={:.6f} max_rel={:.6f} matched_ratio={:.4f}",
                            stats.max_abs, stats.max_rel, stats.matched_ratio);
  }
  return check;
}

} // namespace

// --- conversions --------------------------------------------------------------------------

float bf16_to_float(std::uint16_t bits) {
  return float_from_bits(static_cast<std::uint32_t>(bits) << 16);
}

float fp16_to_float(std::uint16_t bits) {
  const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000u) << 16;
  const std::uint32_t exponent = (bits >> 10) & 0x1fu;
  const std::uint32_t mantissa = bits & 0x3ffu;
  if (exponent == 0) {
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign != 0 ? -magnitude : magnitude;
  }
  if (exponent == 31) {
    return float_from_bits(sign | 0x7f800000u | (mantissa << 13));
  }
  return float_from_bits(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

float fp8_e4m3fn_to_float(std::uint8_t bits) {
  const bool negative = (bits & 0x80u) != 0;
  const int exponent = (bits >> 3) & 0xf;
  const int mantissa = bits & 0x7;
  if (exponent == 15 && mantissa == 7) {
    return std::numeric_limits<float>::quiet_NaN();
  }
  const float magnitude = exponent == 0
                              ? std::ldexp(static_cast<float>(mantissa), -9)
                              : std::ldexp(static_cast<float>(8 + mantissa), exponent - 10);
  return negative ? -magnitude : magnitude;
}

float fp8_e5m2_to_float(std::uint8_t bits) {
  // e5m2 is the upper byte of an IEEE binary16.
  return fp16_to_float(static_cast<std::uint16_t>(bits << 8));
}

// --- HostTensor ---------------------------------------------------------------------------

std::size_t HostTensor::numel() const {
  std::size_t count = 1;
  for (const std::int64_t extent : shape) {
    count *= extent > 0 ? static_cast<std::size_t>(extent) : 0;
  }
  return count;
}

double HostTensor::at(std::size_t i) const {
  return loader_for(dtype)(bytes.data() + i * dtype_size(dtype));
}

std::int64_t HostTensor::int_at(std::size_t i) const {
  const std::uint8_t* p = bytes.data() + i * dtype_size(dtype);
  switch (dtype) {
  case DType::int64:
    return load<std::int64_t>(p);
  case DType::int32:
    return load<std::int32_t>(p);
  case DType::int16:
    return load<std::int16_t>(p);
  case DType::int8:
    return load<std::int8_t>(p);
  case DType::boolean:
    return *p != 0 ? 1 : 0;
  default:
    throw Error(fmt::format("int_at on a {} tensor", dtype_name(dtype)));
  }
}

void check_host_tensor(const HostTensor& tensor, std::size_t element_size) {
  for (const std::int64_t extent : tensor.shape) {
    if (extent < 0) {
      throw Error(fmt::format("tensor shape {} has a negative extent", shape_text(tensor.shape)));
    }
  }
  if (element_size != dtype_size(tensor.dtype)) {
    throw Error(fmt::format("{}-byte elements given for a {} tensor", element_size,
                            dtype_name(tensor.dtype)));
  }
  if (tensor.bytes.size() != tensor.numel() * element_size) {
    throw Error(fmt::format("a {} tensor of shape {} needs {} bytes, got {}",
                            dtype_name(tensor.dtype), shape_text(tensor.shape),
                            tensor.numel() * element_size, tensor.bytes.size()));
  }
}

// --- evaluator and tolerance ----------------------------------------------------------------

Tolerance resolve_tolerance(const Definition& definition, const ToleranceFlags& flags) {
  const DefinitionTraits traits = definition_traits(definition);
  Tolerance tolerance;
  tolerance.required_matched_ratio = traits.bundled_matched_ratio;
  if (flags.preset == TolerancePreset::contest && traits.contest_moe_tolerance) {
    tolerance = Tolerance{1.0, 0.3, 0.9};
  }
  if (flags.atol) {
    tolerance.atol = *flags.atol;
  }
  if (flags.rtol) {
    tolerance.rtol = *flags.rtol;
  }
  if (flags.required_matched_ratio) {
    tolerance.required_matched_ratio = flags.required_matched_ratio;
  }
  if (!(tolerance.atol > 0) || !(tolerance.rtol > 0)) {
    throw UsageError(fmt::format("atol and rtol must be > 0 (got atol {}, rtol {})", tolerance.atol,
                                 tolerance.rtol));
  }
  if (tolerance.required_matched_ratio &&
      !(*tolerance.required_matched_ratio > 0 && *tolerance.required_matched_ratio <= 1)) {
    throw UsageError(fmt::format("required_matched_ratio must be in (0, 1] (got {})",
                                 *tolerance.required_matched_ratio));
  }
  if (!tolerance.required_matched_ratio && traits.evaluator == EvaluatorKind::low_bit) {
    tolerance.required_matched_ratio = 0.95;
  }
  return tolerance;
}

// --- error statistics -----------------------------------------------------------------------

ErrorStats compute_error_stats(const HostTensor& output, const HostTensor& reference,
                               const Tolerance& tolerance) {
  const std::size_t count = output.numel();
  if (count != reference.numel()) {
    throw Error(
        fmt::format("compute_error_stats: {} elements against {}", count, reference.numel()));
  }
  if (count == 0) {
    return ErrorStats{0.0, 0.0, 1.0, false};
  }
  const Loader load_x = loader_for(output.dtype);
  const Loader load_y = loader_for(reference.dtype);
  const std::size_t size_x = dtype_size(output.dtype);
  const std::size_t size_y = dtype_size(reference.dtype);
  // torch compares a float32 tensor with a Python float after casting the scalar to float32.
  const float atol = static_cast<float>(tolerance.atol);
  const float rtol = static_cast<float>(tolerance.rtol);
  float max_abs = 0.0f;
  float max_rel = 0.0f;
  bool abs_nan = false;
  bool rel_nan = false;
  std::size_t exceeded = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const float x = load_x(output.bytes.data() + i * size_x);
    const float y = load_y(reference.bytes.data() + i * size_y);
    const float abs_error = std::fabs(x - y);
    const float rel_error = abs_error / (std::fabs(y) + k_eps);
    if (abs_error > atol && rel_error > rtol) {
      ++exceeded;
    }
    abs_nan = abs_nan || std::isnan(abs_error);
    rel_nan = rel_nan || std::isnan(rel_error);
    max_abs = std::max(max_abs, abs_error);
    max_rel = std::max(max_rel, rel_error);
  }
  ErrorStats stats;
  stats.max_abs = abs_nan ? k_nan : static_cast<double>(max_abs);
  stats.max_rel = rel_nan ? k_nan : static_cast<double>(max_rel);
  stats.matched_ratio =
      std::clamp(1.0 - static_cast<double>(exceeded) / static_cast<double>(count), 0.0, 1.0);
  stats.exceeds = stats.matched_ratio < tolerance.required_matched_ratio.value_or(1.0);
  return stats;
}

ErrorStats compute_score_error_stats(const std::vector<float>& output,
                                     const std::vector<float>& reference,
                                     const Tolerance& tolerance) {
  if (output.size() != reference.size()) {
    throw Error(fmt::format("compute_score_error_stats: {} elements against {}", output.size(),
                            reference.size()));
  }
  if (output.empty()) {
    return ErrorStats{0.0, 0.0, 1.0, false};
  }
  const float atol = static_cast<float>(tolerance.atol);
  const float rtol = static_cast<float>(tolerance.rtol);
  float max_abs = 0.0f;
  float max_rel = 0.0f;
  bool one_sided = false;
  std::size_t exceeded = 0;
  for (std::size_t i = 0; i < output.size(); ++i) {
    const float x = output[i];
    const float y = reference[i];
    if (std::isfinite(x) && std::isfinite(y)) {
      const float abs_error = std::fabs(x - y);
      const float rel_error = abs_error / (std::fabs(y) + k_eps);
      if (abs_error > atol && rel_error > rtol) {
        ++exceeded;
      }
      max_abs = std::max(max_abs, abs_error);
      max_rel = std::max(max_rel, rel_error);
      continue;
    }
    const bool shared = (std::isnan(x) && std::isnan(y)) ||
                        (std::isinf(x) && std::isinf(y) && std::signbit(x) == std::signbit(y));
    if (!shared) {
      one_sided = true;
      ++exceeded;
    }
  }
  ErrorStats stats;
  stats.max_abs = one_sided ? k_inf : static_cast<double>(max_abs);
  stats.max_rel = one_sided ? k_inf : static_cast<double>(max_rel);
  stats.matched_ratio = std::clamp(
      1.0 - static_cast<double>(exceeded) / static_cast<double>(output.size()), 0.0, 1.0);
  stats.exceeds = stats.matched_ratio < tolerance.required_matched_ratio.value_or(1.0);
  return stats;
}

// --- output checks ------------------------------------------------------------------------

OutputCheck check_outputs(const Definition& definition, const std::vector<HostTensor>& solution,
                          const std::vector<HostTensor>& reference, const Tolerance& tolerance,
                          const std::vector<HostTensor>& inputs) {
  const EvaluatorKind kind = select_evaluator(definition);
  Tolerance effective = tolerance;
  switch (kind) {
  case EvaluatorKind::sampling:
    throw Error(fmt::format("{}: sampling definitions are checked statistically; fibkit does "
                            "not implement that evaluator",
                            definition.name));
  case EvaluatorKind::dsa_topk_indexer:
    return check_indexer(definition, solution, reference, tolerance, inputs);
  case EvaluatorKind::low_bit:
    if (!effective.required_matched_ratio) {
      effective.required_matched_ratio = 0.95;
    }
    break;
  case EvaluatorKind::dsa_sparse_attention:
    if (reference.size() != 2) {
      return stopped_check(EvaluationStatus::runtime_error,
                           "DSA sparse attention reference must return exactly 2 outputs.");
    }
    if (solution.size() != 1 && solution.size() != 2) {
      return stopped_check(
          EvaluationStatus::incorrect_shape,
          fmt::format("the solution returned {} outputs; expected 1 or 2", solution.size()));
    }
    break;
  case EvaluatorKind::default_evaluator:
    break;
  }
  if (kind != EvaluatorKind::dsa_sparse_attention && solution.size() != reference.size()) {
    return stopped_check(EvaluationStatus::runtime_error,
                         fmt::format("the solution returned {} outputs but {} are expected",
                                     solution.size(), reference.size()));
  }

  OutputCheck check;
  double max_abs = 0.0;
  double max_rel = 0.0;
  double min_ratio = 1.0;
  bool numerical_incorrect = false;
  for (std::size_t i = 0; i < solution.size(); ++i) {
    const HostTensor& sol = solution[i];
    const HostTensor& ref = reference[i];
    const std::string name = output_name(definition, i);
    if (std::optional<OutputCheck> stop = check_shape_and_dtype(name, sol, ref)) {
      return *stop;
    }
    if (is_float_dtype(sol.dtype)) {
      const Loader load_x = loader_for(sol.dtype);
      const std::size_t size = dtype_size(sol.dtype);
      bool has_inf = false;
      bool has_nan = false;
      for (std::size_t j = 0; j < sol.numel() && !has_inf; ++j) {
        const float x = load_x(sol.bytes.data() + j * size);
        has_inf = std::isinf(x);
        has_nan = has_nan || std::isnan(x);
      }
      if (has_inf) {
        return non_finite_check(k_inf, fmt::format("output {} holds inf", name));
      }
      if (has_nan) {
        return non_finite_check(k_nan, fmt::format("output {} holds NaN", name));
      }
    }
    const ErrorStats stats = compute_error_stats(sol, ref, effective);
    check.outputs.push_back(stats);
    numerical_incorrect = numerical_incorrect || stats.exceeds;
    min_ratio = std::min(min_ratio, stats.matched_ratio);
    max_abs = python_max(max_abs, stats.max_abs);
    max_rel = python_max(max_rel, stats.max_rel);
  }
  check.correctness = Correctness{max_rel, max_abs, ""};
  if (kind == EvaluatorKind::low_bit) {
    check.min_matched_ratio = min_ratio;
    check.correctness->extra_json = matched_ratio_extra(min_ratio);
  }
  if (numerical_incorrect) {
    check.status = EvaluationStatus::incorrect_numerical;
    std::vector<std::string> failed;
    for (std::size_t i = 0; i < check.outputs.size(); ++i) {
      if (check.outputs[i].exceeds) {
        failed.push_back(
            fmt::format("output {}: matched ratio {:.4f} below {} (max_abs={:.6f} max_rel={:.6f})",
                        output_name(definition, i), check.outputs[i].matched_ratio,
                        effective.required_matched_ratio.value_or(1.0), check.outputs[i].max_abs,
                        check.outputs[i].max_rel));
      }
    }
    check.log = fmt::format("{}", fmt::join(failed, "\n"));
  }
  return check;
}

OutputCheck merge_trials(const std::vector<OutputCheck>& trials) {
  OutputCheck merged;
  std::vector<std::string> logs;
  double max_abs = 0.0;
  double max_rel = 0.0;
  std::optional<double> min_ratio;
  bool numerical_incorrect = false;
  for (const OutputCheck& trial : trials) {
    if (!trial.log.empty()) {
      logs.push_back(trial.log);
    }
    const bool stops = trial.stopped || (trial.status != EvaluationStatus::passed &&
                                         trial.status != EvaluationStatus::incorrect_numerical);
    if (stops) {
      OutputCheck result = trial;
      result.stopped = true;
      result.log = fmt::format("{}", fmt::join(logs, "\n"));
      return result;
    }
    if (trial.correctness) {
      max_abs = python_max(max_abs, trial.correctness->max_absolute_error);
      max_rel = python_max(max_rel, trial.correctness->max_relative_error);
    }
    if (trial.min_matched_ratio) {
      min_ratio = std::min(min_ratio.value_or(1.0), *trial.min_matched_ratio);
    }
    numerical_incorrect =
        numerical_incorrect || trial.status == EvaluationStatus::incorrect_numerical;
    merged.outputs.insert(merged.outputs.end(), trial.outputs.begin(), trial.outputs.end());
  }
  merged.status =
      numerical_incorrect ? EvaluationStatus::incorrect_numerical : EvaluationStatus::passed;
  merged.correctness = Correctness{max_rel, max_abs, ""};
  if (min_ratio) {
    merged.min_matched_ratio = min_ratio;
    merged.correctness->extra_json = matched_ratio_extra(*min_ratio);
  }
  merged.log = fmt::format("{}", fmt::join(logs, "\n"));
  return merged;
}

} // namespace fibkit::core
