#include "fibkit/cuda/resources.hpp"

#include "fibkit/cuda/nvrtc.hpp"
#include "fibkit/util/error.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

namespace fibkit::cuda {
namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

/// Sets `body` to the text after "ptxas info    :" or "ptxas         ." (ptxas pads the tag);
/// false for other lines.
bool ptxas_body(std::string_view line, std::string_view& body) {
  if (!starts_with(line, "ptxas")) {
    return false;
  }
  line.remove_prefix(5);
  line = trim(line);
  if (starts_with(line, "info")) {
    line.remove_prefix(4);
    line = trim(line);
    if (!starts_with(line, ":")) {
      return false;
    }
  } else if (!starts_with(line, ".")) {
    return false;
  }
  line.remove_prefix(1);
  body = trim(line);
  return true;
}

/// The quoted names of "Compiling entry function 'k' for 'sm_90a'".
std::vector<std::string> quoted(std::string_view text) {
  std::vector<std::string> names;
  std::size_t pos = 0;
  while ((pos = text.find('\'', pos)) != std::string_view::npos) {
    const std::size_t end = text.find('\'', pos + 1);
    if (end == std::string_view::npos) {
      break;
    }
    names.emplace_back(text.substr(pos + 1, end - pos - 1));
    pos = end + 1;
  }
  return names;
}

std::size_t parse_count(std::string_view text, std::string_view line) {
  if (text.empty() || text.size() > 18) {
    throw Error("malformed number '" + std::string(text) + "' in ptxas line: " + std::string(line));
  }
  std::size_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') {
      throw Error("malformed number '" + std::string(text) +
                  "' in ptxas line: " + std::string(line));
    }
    value = value * 10 + static_cast<std::size_t>(c - '0');
  }
  return value;
}

/// Splits "a, b, c" at ", ".
std::vector<std::string_view> split_items(std::string_view text) {
  std::vector<std::string_view> items;
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = text.find(',', start);
    items.push_back(trim(text.substr(start, end == std::string_view::npos ? end : end - start)));
    if (end == std::string_view::npos) {
      return items;
    }
    start = end + 1;
  }
}

/// "N <what>" -> N when the item ends with `what`.
bool item_value(std::string_view item, std::string_view what, std::string_view line,
                std::size_t& value) {
  if (item.size() <= what.size() || item.substr(item.size() - what.size()) != what) {
    return false;
  }
  value = parse_count(trim(item.substr(0, item.size() - what.size())), line);
  return true;
}

template <typename T> T read_le(std::string_view data, std::size_t offset) {
  T value{};
  std::memcpy(&value, data.data() + offset, sizeof(T));
  return value;
}

} // namespace

std::vector<KernelResources> parse_ptxas_info(const std::string& log) {
  std::vector<KernelResources> kernels;
  KernelResources* current = nullptr; // the entry function being described, if kept
  std::string properties_of;          // the function of the last "Function properties for"
  std::size_t pos = 0;
  while (pos <= log.size()) {
    std::size_t end = log.find('\n', pos);
    if (end == std::string::npos) {
      end = log.size();
    }
    const std::string_view line = trim(std::string_view(log).substr(pos, end - pos));
    pos = end + 1;
    std::string_view body;
    if (!ptxas_body(line, body)) {
      continue;
    }
    if (starts_with(body, "Compiling entry function")) {
      const auto names = quoted(body);
      current = nullptr;
      properties_of.clear();
      if (!names.empty() && !is_probe_name(names[0])) {
        KernelResources entry;
        entry.kernel = names[0];
        if (names.size() > 1) {
          entry.arch = names[1];
        }
        kernels.push_back(std::move(entry));
        current = &kernels.back();
      }
    } else if (starts_with(body, "Function properties for")) {
      properties_of = std::string(trim(body.substr(std::strlen("Function properties for"))));
    } else if (body.find("bytes stack frame") != std::string_view::npos) {
      if (current == nullptr || properties_of != current->kernel) {
        continue; // a __device__ function's frame, or a probe's
      }
      for (const auto item : split_items(body)) {
        std::size_t value = 0;
        if (item_value(item, "bytes stack frame", line, value)) {
          current->local_bytes = value;
        } else if (item_value(item, "bytes spill stores", line, value)) {
          current->spill_stores = value;
        } else if (item_value(item, "bytes spill loads", line, value)) {
          current->spill_loads = value;
        }
      }
    } else if (starts_with(body, "Used ")) {
      if (current == nullptr) {
        continue;
      }
      for (auto item : split_items(body)) {
        if (starts_with(item, "Used ") || starts_with(item, "used ")) {
          item.remove_prefix(5);
        }
        std::size_t value = 0;
        if (item_value(item, "registers", line, value)) {
          current->registers = static_cast<int>(value);
        } else if (item_value(item, "barriers", line, value)) {
          current->barriers = static_cast<int>(value);
        } else if (item_value(item, "bytes smem", line, value)) {
          current->static_smem = value;
        } else if (item_value(item, "bytes cmem[0]", line, value)) {
          current->const_bytes = value;
        } else if (item_value(item, "bytes lmem", line, value)) {
          current->local_bytes = std::max(current->local_bytes, value);
        }
      }
    }
  }
  return kernels;
}

std::map<std::string, std::size_t> cubin_section_sizes(std::string_view cubin) {
  constexpr std::size_t k_header_size = 64;
  constexpr std::size_t k_section_header_size = 64;
  if (cubin.size() < k_header_size || cubin.substr(0, 4) != "\x7f"
                                                            "ELF") {
    throw Error("the cubin is not an ELF file");
  }
  if (cubin[4] != 2 || cubin[5] != 1) {
    throw Error("the cubin is not a 64-bit little-endian ELF file");
  }
  const auto section_offset = read_le<std::uint64_t>(cubin, 0x28);
  const auto entry_size = read_le<std::uint16_t>(cubin, 0x3a);
  const auto count = read_le<std::uint16_t>(cubin, 0x3c);
  const auto names_index = read_le<std::uint16_t>(cubin, 0x3e);
  if (entry_size < k_section_header_size || names_index >= count || section_offset > cubin.size() ||
      (cubin.size() - section_offset) / entry_size < static_cast<std::size_t>(count)) {
    throw Error("the cubin's ELF section headers are malformed");
  }
  auto header = [&](std::size_t index) { return section_offset + index * entry_size; };
  const auto names_offset = read_le<std::uint64_t>(cubin, header(names_index) + 24);
  const auto names_size = read_le<std::uint64_t>(cubin, header(names_index) + 32);
  if (names_offset > cubin.size() || names_size > cubin.size() - names_offset) {
    throw Error("the cubin's ELF section name table lies outside the file");
  }
  const std::string_view names = cubin.substr(names_offset, names_size);
  std::map<std::string, std::size_t> sizes;
  for (std::size_t i = 1; i < count; ++i) {
    const auto name = read_le<std::uint32_t>(cubin, header(i));
    const auto size = read_le<std::uint64_t>(cubin, header(i) + 32);
    if (name >= names.size()) {
      throw Error("the cubin's ELF section name lies outside the name table");
    }
    const std::size_t end = names.find('\0', name);
    sizes[std::string(names.substr(name, end == std::string_view::npos ? end : end - name))] =
        static_cast<std::size_t>(size);
  }
  return sizes;
}

std::vector<KernelResources> kernel_resources(const std::string& log, std::string_view cubin) {
  std::vector<KernelResources> kernels = parse_ptxas_info(log);
  if (cubin.empty()) {
    return kernels;
  }
  const auto sections = cubin_section_sizes(cubin);
  for (auto& kernel : kernels) {
    if (kernel.const_bytes == 0) {
      const auto it = sections.find(".nv.constant0." + kernel.kernel);
      if (it != sections.end()) {
        kernel.const_bytes = it->second;
      }
    }
  }
  return kernels;
}

const KernelResources* find_resources(const std::vector<KernelResources>& resources,
                                      std::string_view kernel) {
  for (const auto& entry : resources) {
    if (entry.kernel == kernel) {
      return &entry;
    }
  }
  return nullptr;
}

int max_threads_per_block(int registers, int arch_major) {
  constexpr int k_warp_size = 32;
  constexpr int k_registers_per_block = 65536;
  constexpr int k_allocation_unit = 256;
  constexpr int k_warp_allocation = 4;
  constexpr int k_max_registers = 255;
  constexpr int k_max_threads = 1024;
  if (arch_major < 5) {
    throw Error("max_threads_per_block: compute capability " + std::to_string(arch_major) +
                ".x is older than any architecture NVRTC targets");
  }
  if (registers > k_max_registers) {
    return 0;
  }
  const int per_thread = std::max(registers, 1);
  const int per_warp =
      (per_thread * k_warp_size + k_allocation_unit - 1) / k_allocation_unit * k_allocation_unit;
  const int warps = k_registers_per_block / (per_warp * k_warp_allocation) * k_warp_allocation;
  return std::min(k_max_threads, warps * k_warp_size);
}

std::size_t max_dynamic_smem(const std::string& arch) {
  constexpr std::size_t k_kib = 1024;
  const auto number = arch_number(arch);
  if (number) {
    switch (*number) {
    case 70:
    case 72:
      return 96 * k_kib;
    case 75:
      return 64 * k_kib;
    case 80:
    case 87:
      return 164 * k_kib - k_kib;
    case 86:
    case 88:
    case 89:
    case 120:
    case 121:
      return 100 * k_kib - k_kib;
    case 90:
    case 100:
    case 103:
    case 110:
      return 228 * k_kib - k_kib;
    default:
      break;
    }
  }
  throw Error("no shared memory limit known for architecture '" + arch + "'");
}

} // namespace fibkit::cuda
