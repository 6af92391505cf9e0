// Tests for kernel parameter types (include/fibkit/cuda/signature.hpp): parsing demangled
// function types, reading probe names captured from NVRTC 13.0, and the dtype tables. Pure
// parsing ([cuda]): no NVRTC call; test_cuda_nvrtc.cpp checks the probe against real compiles.
#include "fibkit/cuda/signature.hpp"
#include "fibkit/util/error.hpp"

#include "test_cuda_support.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using fibkit::core::DType;
using fibkit::cuda::demangle;
using fibkit::cuda::dtype_cpp_type;
using fibkit::cuda::ParamType;
using fibkit::cuda::parse_signature;
using fibkit::cuda::signature_from_lowered;
using fibkit::cuda::type_matches_axis;
using fibkit::cuda::type_matches_dtype;
using fibkit::cuda::type_matches_literal;
using fibkit::cuda::type_matches_scalar;
using fibkit::testing::sizes;
using fibkit::testing::texts;

namespace {

ParamType one(const std::string& type) {
  const auto params = parse_signature("void (" + type + ")");
  REQUIRE(params.size() == 1);
  return params.front();
}

// The probe of gdn_decode_kernel (kernels/gated_delta_net/gdn_decode.cu), from NVRTC 13.0.
constexpr const char* k_gdn_decode_probe =
    "_ZN12fibkit_probe5probeIFvPK13__nv_bfloat16S3_S3_PKfS5_S3_S5_S3_fPS1_PfENS_"
    "5sizesIJLm8ELm8ELm8ELm8ELm8ELm8ELm8ELm8ELm4ELm8ELm8EEEEEEvPNS_3sigIT_EEPT0_";

} // namespace

TEST_CASE("signature: demangled pointer and value types", "[cuda]") {
  const auto params =
      parse_signature("void (__nv_bfloat16 const*, float*, int, long long, unsigned char const*, "
                      "__nv_fp8_e4m3 const*, float4*, unsigned int, double, bool)");
  CHECK(texts(params) == std::vector<std::string>{"const __nv_bfloat16*", "float*", "int",
                                                  "long long", "const unsigned char*",
                                                  "const __nv_fp8_e4m3*", "float4*", "unsigned int",
                                                  "double", "bool"});
  CHECK(sizes(params) == std::vector<std::size_t>{8, 8, 4, 8, 8, 8, 8, 4, 8, 1});

  const ParamType& q = params[0];
  CHECK(q.base == "__nv_bfloat16");
  CHECK(q.is_pointer);
  CHECK(q.is_const_pointee);
  CHECK_FALSE(params[1].is_const_pointee);
  CHECK(params[1].base == "float");
  CHECK_FALSE(params[2].is_pointer);
  CHECK(params[2].base == "int");
  CHECK(params[3].base == "long long");
  CHECK(params[4].base == "unsigned char");
  CHECK(params[6].base == "float4");
}

TEST_CASE("signature: declarations, empty lists, noexcept", "[cuda]") {
  CHECK(texts(parse_signature("void t<128>(__nv_bfloat16 const*, float*, int)")) ==
        std::vector<std::string>{"const __nv_bfloat16*", "float*", "int"});
  CHECK(texts(parse_signature("ns::inner::k(int)")) == std::vector<std::string>{"int"});
  CHECK(texts(parse_signature("(int, float)")) == std::vector<std::string>{"int", "float"});
  CHECK(parse_signature("void ()").empty());
  CHECK(parse_signature("void (void)").empty());
  CHECK(texts(parse_signature("void (int) noexcept")) == std::vector<std::string>{"int"});
  // Template arguments with parentheses and commas stay inside their parameter.
  CHECK(texts(parse_signature("void k<(short)3, 4>(Pair<int, float>, int)")) ==
        std::vector<std::string>{"Pair<int, float>", "int"});
}

TEST_CASE("signature: nested templates and structs by value", "[cuda]") {
  const auto params = parse_signature("void (Params, Box<Box<float> >, Box<int> const*, "
                                      "float*, float const*, int volatile*)");
  CHECK(texts(params) == std::vector<std::string>{"Params", "Box<Box<float> >", "const Box<int>*",
                                                  "float*", "const float*", "volatile int*"});
  CHECK(params[0].size == 0); // unknown without the probe
  CHECK(params[1].base == "Box<Box<float> >");
  CHECK(params[2].base == "Box<int>");
  CHECK(params[2].is_const_pointee);
  CHECK_FALSE(params[5].is_const_pointee);
  CHECK(params[5].base == "int");
}

TEST_CASE("signature: west const, qualifiers and spellings are normalised", "[cuda]") {
  CHECK(one("const float *").text == "const float*");
  CHECK(one("const float *").base == "float");
  CHECK(one("float* __restrict__").text == "float*");
  CHECK(one("const float* __restrict__ const").text == "const float*");
  CHECK(one("int const").text == "int");
  CHECK(one("const int").text == "int");
  CHECK(one("unsigned").text == "unsigned int");
  CHECK(one("long int").text == "long");
  CHECK(one("long long int").text == "long long");
  CHECK(one("unsigned long long int").size == 8);
  CHECK(one("short int").text == "short");
  CHECK(one("signed").text == "int");
  CHECK(one("signed char").text == "signed char");
  CHECK(one("char").text == "char");
  CHECK(one("const fibkit::bf16*").text == "const __nv_bfloat16*");
  CHECK(one("fibkit::fp8_e4m3 const*").base == "__nv_fp8_e4m3");
  CHECK(one("half*").base == "__half");
  CHECK(one("const int64_t*").base == "long long");
  CHECK(one("cuda::std::uint32_t").base == "unsigned int");
  CHECK(one("std::size_t").size == 8);
}

TEST_CASE("signature: pointers to pointers", "[cuda]") {
  const ParamType p = one("float const* const*");
  CHECK(p.is_pointer);
  CHECK(p.is_const_pointee);
  CHECK(p.base == "const float*");
  CHECK(p.text == "const float* const*");
  const ParamType q = one("float**");
  CHECK_FALSE(q.is_const_pointee);
  CHECK(q.base == "float*");
  CHECK(q.text == "float**");
  CHECK_FALSE(type_matches_dtype(q, DType::float32));
}

TEST_CASE("signature: malformed function types", "[cuda]") {
  CHECK_THROWS_AS(parse_signature("void"), fibkit::Error);
  CHECK_THROWS_AS(parse_signature("void (int"), fibkit::Error);
  CHECK_THROWS_AS(parse_signature("void (int))"), fibkit::Error);
  CHECK_THROWS_AS(parse_signature("void (int, , float)"), fibkit::Error);
  CHECK_THROWS_AS(parse_signature("void (int, ...)"), fibkit::Error);
}

TEST_CASE("signature: demangle", "[cuda]") {
  CHECK(demangle("_Z1tILi128EEvPK13__nv_bfloat16Pfi") ==
        "void t<128>(__nv_bfloat16 const*, float*, int)");
  CHECK_THROWS_AS(demangle("gdn_decode_kernel"), fibkit::Error);
}

TEST_CASE("signature: from a probe's lowered name", "[cuda]") {
  const auto params = signature_from_lowered(k_gdn_decode_probe);
  CHECK(texts(params) == std::vector<std::string>{
                             "const __nv_bfloat16*", "const __nv_bfloat16*", "const __nv_bfloat16*",
                             "const float*", "const float*", "const __nv_bfloat16*", "const float*",
                             "const __nv_bfloat16*", "float", "__nv_bfloat16*", "float*"});
  CHECK(sizes(params) == std::vector<std::size_t>{8, 8, 8, 8, 8, 8, 8, 8, 4, 8, 8});

  // Structs by value get their sizes from the probe: Params {int; float} and Box<Box<float>>.
  const auto structs =
      signature_from_lowered("_ZN12fibkit_probe5probeIFv6Params3BoxIS2_IfEEPKS2_IiEPfPKfPViENS_"
                             "5sizesIJLm8ELm4ELm8ELm8ELm8ELm8EEEEEEvPNS_3sigIT_EEPT0_");
  CHECK(texts(structs) == std::vector<std::string>{"Params", "Box<Box<float> >", "const Box<int>*",
                                                   "float*", "const float*", "volatile int*"});
  CHECK(sizes(structs) == std::vector<std::size_t>{8, 4, 8, 8, 8, 8});

  // A kernel without parameters.
  CHECK(signature_from_lowered("_ZN12fibkit_probe5probeIFvvENS_5sizesIJEEEEEvPNS_3sigIT_EEPT0_")
            .empty());
}

TEST_CASE("signature: from a C++ kernel's own lowered name", "[cuda]") {
  const auto params = signature_from_lowered("_Z1tILi128EEvPK13__nv_bfloat16Pfi");
  CHECK(texts(params) == std::vector<std::string>{"const __nv_bfloat16*", "float*", "int"});
  CHECK(sizes(params) == std::vector<std::size_t>{8, 8, 4});
  CHECK(texts(signature_from_lowered("_ZN2ns5inner2nkEPK13__nv_fp8_e4m3PKhP6float4xxjdb")) ==
        std::vector<std::string>{"const __nv_fp8_e4m3*", "const unsigned char*", "float4*",
                                 "long long", "long long", "unsigned int", "double", "bool"});
}

TEST_CASE("signature: an extern \"C\" name needs the probe", "[cuda]") {
  try {
    signature_from_lowered("gdn_decode_kernel");
    FAIL("no exception");
  } catch (const fibkit::Error& e) {
    CHECK(std::string(e.what()) ==
          "'gdn_decode_kernel' is not a mangled C++ name: the parameter types of an extern \"C\" "
          "kernel come from its signature probe "
          "(fibkit_probe::probe<decltype(gdn_decode_kernel)>)");
  }
  CHECK_THROWS_AS(signature_from_lowered("_Zgarbage"), fibkit::Error);
}

TEST_CASE("signature: tensor pointers and dtypes", "[cuda]") {
  CHECK(type_matches_dtype(one("float*"), DType::float32));
  CHECK(type_matches_dtype(one("float const*"), DType::float32));
  CHECK_FALSE(type_matches_dtype(one("double*"), DType::float32));
  CHECK_FALSE(type_matches_dtype(one("float"), DType::float32)); // by value
  CHECK_FALSE(type_matches_dtype(one("float4*"), DType::float32));
  CHECK(type_matches_dtype(one("__half const*"), DType::float16));
  CHECK_FALSE(type_matches_dtype(one("__half2*"), DType::float16));
  CHECK(type_matches_dtype(one("__nv_bfloat16*"), DType::bfloat16));
  CHECK_FALSE(type_matches_dtype(one("__nv_bfloat16*"), DType::float16));
  CHECK_FALSE(type_matches_dtype(one("unsigned short*"), DType::bfloat16));

  for (const char* raw : {"unsigned char*", "signed char*", "char*"}) {
    INFO(raw);
    CHECK(type_matches_dtype(one(raw), DType::float8_e4m3fn));
    CHECK(type_matches_dtype(one(raw), DType::float8_e5m2));
    CHECK(type_matches_dtype(one(raw), DType::float4_e2m1));
    CHECK(type_matches_dtype(one(raw), DType::int8));
    CHECK_FALSE(type_matches_dtype(one(raw), DType::boolean));
    CHECK_FALSE(type_matches_dtype(one(raw), DType::int32));
  }
  CHECK(type_matches_dtype(one("__nv_fp8_e4m3 const*"), DType::float8_e4m3fn));
  CHECK_FALSE(type_matches_dtype(one("__nv_fp8_e4m3 const*"), DType::float8_e5m2));
  CHECK(type_matches_dtype(one("__nv_fp8_e5m2*"), DType::float8_e5m2));
  CHECK(type_matches_dtype(one("__nv_fp4x2_e2m1*"), DType::float4_e2m1));

  CHECK(type_matches_dtype(one("long long*"), DType::int64));
  CHECK(type_matches_dtype(one("long*"), DType::int64));
  CHECK(type_matches_dtype(one("int64_t*"), DType::int64));
  CHECK_FALSE(type_matches_dtype(one("unsigned long long*"), DType::int64));
  CHECK_FALSE(type_matches_dtype(one("int*"), DType::int64));
  CHECK(type_matches_dtype(one("int*"), DType::int32));
  CHECK_FALSE(type_matches_dtype(one("unsigned int*"), DType::int32));
  CHECK_FALSE(type_matches_dtype(one("long long*"), DType::int32));
  CHECK(type_matches_dtype(one("short*"), DType::int16));
  CHECK(type_matches_dtype(one("bool*"), DType::boolean));
  CHECK_FALSE(type_matches_dtype(one("int*"), DType::boolean));

  // An untyped pointer opts out of the check.
  CHECK(type_matches_dtype(one("void const*"), DType::bfloat16));
  CHECK(type_matches_dtype(one("void*"), DType::int64));
  CHECK_FALSE(type_matches_dtype(one("void**"), DType::int64));
}

TEST_CASE("signature: scalars, axes and literals by value", "[cuda]") {
  CHECK(type_matches_scalar(one("float"), DType::float32));
  CHECK_FALSE(type_matches_scalar(one("double"), DType::float32));
  CHECK_FALSE(type_matches_scalar(one("float*"), DType::float32));
  CHECK(type_matches_scalar(one("int"), DType::int32));
  CHECK_FALSE(type_matches_scalar(one("long long"), DType::int32));
  CHECK(type_matches_scalar(one("long long"), DType::int64));
  CHECK(type_matches_scalar(one("long"), DType::int64));
  CHECK_FALSE(type_matches_scalar(one("int"), DType::int64));
  CHECK(type_matches_scalar(one("bool"), DType::boolean));
  CHECK(type_matches_scalar(one("__nv_bfloat16"), DType::bfloat16));
  CHECK_FALSE(type_matches_scalar(one("unsigned char"), DType::float8_e4m3fn));

  for (const char* axis : {"int", "unsigned int", "long long", "unsigned long long", "long",
                           "unsigned long", "unsigned", "int64_t"}) {
    INFO(axis);
    CHECK(type_matches_axis(one(axis)));
  }
  for (const char* other : {"short", "float", "double", "int*", "bool", "char"}) {
    INFO(other);
    CHECK_FALSE(type_matches_axis(one(other)));
  }

  CHECK(type_matches_literal(one("int"), "int32"));
  CHECK(type_matches_literal(one("long long"), "int64"));
  CHECK(type_matches_literal(one("long"), "int64"));
  CHECK(type_matches_literal(one("unsigned int"), "uint32"));
  CHECK(type_matches_literal(one("unsigned long long"), "uint64"));
  CHECK(type_matches_literal(one("float"), "float32"));
  CHECK(type_matches_literal(one("double"), "float64"));
  CHECK_FALSE(type_matches_literal(one("float"), "float64"));
  CHECK_FALSE(type_matches_literal(one("int"), "uint32"));
  CHECK_FALSE(type_matches_literal(one("int*"), "int32"));
  CHECK_FALSE(type_matches_literal(one("int"), "int8"));
}

TEST_CASE("signature: the C++ type of each dtype", "[cuda]") {
  CHECK(dtype_cpp_type(DType::float32) == "float");
  CHECK(dtype_cpp_type(DType::bfloat16) == "__nv_bfloat16");
  CHECK(dtype_cpp_type(DType::float8_e4m3fn) == "__nv_fp8_e4m3");
  CHECK(dtype_cpp_type(DType::int64) == "long long");
  CHECK(dtype_cpp_type(DType::boolean) == "bool");
  // Every dtype's suggested type matches it, as a pointer and by value.
  for (const DType d : {DType::float32, DType::float16, DType::bfloat16, DType::float8_e4m3fn,
                        DType::float8_e5m2, DType::float4_e2m1, DType::int64, DType::int32,
                        DType::int16, DType::int8, DType::boolean}) {
    const std::string type(dtype_cpp_type(d));
    INFO(type);
    CHECK(type_matches_dtype(one(type + " const*"), d));
    CHECK(type_matches_scalar(one(type), d));
  }
}
