// Tests for the starter projects' identity (include/fibkit/core/project/templates.hpp):
// `fibkit init --author/--name` rewrite the solutions' author and names, the placeholder author
// is refused by pack_solution().
#include "fibkit/core/project/config.hpp"
#include "fibkit/core/project/templates.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <string>

using fibkit::core::k_placeholder_author;
using fibkit::core::name_slug;
using fibkit::core::parse_config;
using fibkit::core::ProjectFile;
using fibkit::core::starter_project;
using fibkit::core::StarterIdentity;
using fibkit::testing::error_of;

namespace {
std::string config_of(const std::vector<ProjectFile>& files) {
  for (const ProjectFile& f : files) {
    if (f.path == "config.toml") {
      return f.content;
    }
  }
  FAIL("no config.toml");
  return "";
}
} // namespace

TEST_CASE("starter_project writes the author and name prefix, TOML-escaped") {
  StarterIdentity id;
  id.author = R"(Ada "the first" \ Lovelace)";
  id.name_prefix = "ada";
  const std::string text = config_of(starter_project("gated_delta_net", id));
  const auto config = parse_config(text, "config.toml", "/tmp");
  REQUIRE(config.solutions.size() == 2);
  for (const auto& s : config.solutions) {
    CHECK(s.author == id.author);
    CHECK(s.name.rfind("ada-gdn-", 0) == 0);
  }
}

TEST_CASE("starter_project without an identity keeps the templates") {
  const std::string text = config_of(starter_project("fused_moe"));
  CHECK(text.find("author = \"fibkit\"") != std::string::npos);
  CHECK(text.find("name = \"fibkit-simple-moe\"") != std::string::npos);
}

TEST_CASE("starter_project refuses a name prefix that is not a plain name") {
  StarterIdentity id;
  id.name_prefix = "a/b";
  CHECK(error_of([&] { (void)starter_project("fused_moe", id); }).find("--name \"a/b\"") !=
        std::string::npos);
}

TEST_CASE("name_slug") {
  CHECK(name_slug("Ada Lovelace") == "ada-lovelace");
  CHECK(name_slug("  Team #7 -- GPU ") == "team-7-gpu");
  CHECK(name_slug("") == "");
}

TEST_CASE("the placeholder author is refused when packing") {
  CHECK(error_of([] {
          fibkit::core::check_packable_author("config.toml:3", "s",
                                              std::string(k_placeholder_author));
        }).find("config.toml:3: solution \"s\" has the placeholder author") == 0);
  CHECK(error_of([] { fibkit::core::check_packable_author("config.toml:3", "s", "Ada"); }) ==
        "no error");
}
