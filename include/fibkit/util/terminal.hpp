// Terminal conventions: colour only on a TTY, never with NO_COLOR (unless forced), styled text
// through one function so pipes stay plain.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace fibkit::util {

enum class ColorMode { auto_detect, always, never };

/// Whether to colour output written to `stream`: --color beats CLICOLOR_FORCE/FORCE_COLOR, which
/// beat NO_COLOR, which beats isatty && TERM != "dumb".
bool use_color(ColorMode mode, std::FILE* stream);
/// use_color() and the rule that decided it (e.g. "$NO_COLOR"), for `fibkit env`.
struct ColorChoice {
  bool on = false;
  std::string from;
};
ColorChoice color_choice(ColorMode mode, std::FILE* stream);

enum class Style { none, bold, dim, red, green, yellow, cyan };

/// `text` wrapped in the ANSI codes of `style` when `color` is true, else unchanged.
std::string styled(std::string_view text, Style style, bool color);

/// Display width of UTF-8 text (code points; fibkit prints no wide characters).
std::size_t display_width(std::string_view text);

} // namespace fibkit::util
