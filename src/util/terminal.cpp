#include "fibkit/util/terminal.hpp"

#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace fibkit::util {

namespace {
bool env_set(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::strcmp(v, "0") != 0;
}
} // namespace

bool use_color(ColorMode mode, std::FILE* stream) {
  return color_choice(mode, stream).on;
}

ColorChoice color_choice(ColorMode mode, std::FILE* stream) {
  if (mode != ColorMode::auto_detect) {
    return {mode == ColorMode::always,
            mode == ColorMode::always ? "--color always" : "--color never"};
  }
  if (env_set("CLICOLOR_FORCE") || env_set("FORCE_COLOR")) {
    return {true, "$CLICOLOR_FORCE / $FORCE_COLOR"};
  }
  if (const char* no = std::getenv("NO_COLOR"); no && *no) {
    return {false, "$NO_COLOR"};
  }
  const char* term = std::getenv("TERM");
  return {::isatty(::fileno(stream)) && !(term && std::strcmp(term, "dumb") == 0),
          "default (on for a terminal that is not TERM=dumb)"};
}

std::string styled(std::string_view text, Style style, bool color) {
  if (!color || style == Style::none) {
    return std::string(text);
  }
  const char* code = "";
  switch (style) {
  case Style::bold:
    code = "\x1b[1m";
    break;
  case Style::dim:
    code = "\x1b[2m";
    break;
  case Style::red:
    code = "\x1b[31m";
    break;
  case Style::green:
    code = "\x1b[32m";
    break;
  case Style::yellow:
    code = "\x1b[33m";
    break;
  case Style::cyan:
    code = "\x1b[36m";
    break;
  case Style::none:
    break;
  }
  return std::string(code) + std::string(text) + "\x1b[0m";
}

std::size_t display_width(std::string_view text) {
  std::size_t width = 0;
  for (char c : text) {
    width += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }
  return width;
}

} // namespace fibkit::util
