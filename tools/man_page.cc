// tools/man_page.cc — `segstore --man [COMMAND]`: a man page in roff, written from the same CLI11
// definitions (descriptions, options, defaults, footers) that --help prints, so the installed
// pages (tools/meson.build generates them at build time) never drift from the program.
#include <string>
#include <string_view>
#include <vector>

#include <fmt/core.h>

#include "cli.h"
#include "segstore/version.h"

namespace segstore::cli {

namespace {

// Text as roff: a backslash and a leading dot or quote would be read as requests.
std::string roff_escape(std::string_view text) {
  std::string out;
  bool line_start = true;
  for (char c : text) {
    if (c == '\\') out += "\\e";
    else if (c == '-') out += "\\-";
    else if (line_start && (c == '.' || c == '\'')) out += "\\&" + std::string(1, c);
    else out += c;
    line_start = c == '\n';
  }
  return out;
}

// Paragraphs of a description or footer: the help text's lines are wrapped prose, so they
// flow into one paragraph; an empty line starts a new one, and an indented line (a list item
// or an example the help text lines up) starts a line of its own.
std::string roff_paragraphs(std::string_view text) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    if (line.empty()) out += ".PP\n";
    else out += (line.front() == ' ' ? ".br\n" : "") + roff_escape(line) + "\n";
    start = end + 1;
  }
  return out;
}

// "--stream UINT", "--ack", "DIR" as it is written on a command line.
std::string option_usage(const CLI::Option &option) {
  if (option.get_positional()) return "\\fI" + roff_escape(option.get_name(true)) + "\\fR";
  std::string names;
  for (const std::string &name : option.get_snames()) names += (names.empty() ? "" : ", ") + ("\\fB\\-" + name + "\\fR");
  for (const std::string &name : option.get_lnames()) names += (names.empty() ? "" : ", ") + ("\\fB\\-\\-" + roff_escape(name) + "\\fR");
  if (option.get_expected_min() > 0 && !option.get_type_name().empty())
    names += " \\fI" + roff_escape(option.get_type_name()) + "\\fR";
  return names;
}

std::string synopsis(const CLI::App &app, const std::string &command_line) {
  std::string line = "\\fB" + roff_escape(command_line) + "\\fR";
  bool has_options = false;
  for (const CLI::Option *option : app.get_options()) {
    if (option->get_positional()) line += " " + std::string(option->get_required() ? "" : "[") + option_usage(*option) + (option->get_required() ? "" : "]");
    else has_options = true;
  }
  if (has_options) line.insert(line.find("\\fR") + 3, " [\\fIOPTIONS\\fR]");
  if (!app.get_subcommands({}).empty()) line += " \\fICOMMAND\\fR [\\fIOPTIONS\\fR]";
  return line;
}

std::string options_section(const CLI::App &app) {
  std::string out;
  for (const CLI::Option *option : app.get_options()) {
    if (option->get_group().empty()) continue;  // hidden
    out += ".TP\n" + option_usage(*option) + "\n" + roff_escape(option->get_description());
    if (!option->get_default_str().empty()) out += " (default: " + roff_escape(option->get_default_str()) + ")";
    out += "\n";
  }
  return out;
}

// The first sentence of a description, for the NAME line.
std::string summary(std::string_view description) {
  std::string_view first = description.substr(0, description.find('\n'));
  if (first.starts_with("segstore: ")) first.remove_prefix(std::string_view("segstore: ").size());
  if (first.ends_with(".")) first.remove_suffix(1);
  return std::string(first);
}

}  // namespace

std::string man_page(const CLI::App &app, const std::string &command) {
  const CLI::App *page = command.empty() ? &app : app.get_subcommand(command);
  const std::string name = command.empty() ? "segstore" : "segstore-" + command;
  const std::string command_line = command.empty() ? "segstore" : "segstore " + command;
  std::string out;
  out += fmt::format(".TH {} 1 \"\" \"segstore {}\" \"segstore manual\"\n", name, SEGSTORE_VERSION_STRING);
  out += ".SH NAME\n" + roff_escape(name) + " \\- " + roff_escape(summary(page->get_description())) + "\n";
  out += ".SH SYNOPSIS\n" + synopsis(*page, command_line) + "\n";
  out += ".SH DESCRIPTION\n" + roff_paragraphs(page->get_description());
  const std::string footer = page->get_footer();
  if (!footer.empty()) out += ".PP\n" + roff_paragraphs(footer);
  const std::string options = options_section(*page);
  if (!options.empty()) out += ".SH OPTIONS\n" + options;
  if (command.empty()) {
    out += ".SH COMMANDS\n";
    for (const CLI::App *sub : app.get_subcommands({}))
      out += ".TP\n\\fB" + roff_escape(sub->get_name()) + "\\fR\n" + roff_escape(sub->get_description()) +
             " (\\fBsegstore\\-" + roff_escape(sub->get_name()) + "\\fR(1))\n";
  }
  out += ".SH EXIT STATUS\n0 ok; 1 a problem was found in the store (damage, a cut); 2 a usage or I/O error "
         "(the message names the file and the cause).\n";
  out += ".SH SEE ALSO\n";
  if (command.empty()) {
    std::string pages;
    for (const CLI::App *sub : app.get_subcommands({}))
      pages += (pages.empty() ? "" : ",\n") + ("\\fBsegstore\\-" + roff_escape(sub->get_name()) + "\\fR(1)");
    out += pages + "\n";
  } else {
    out += "\\fBsegstore\\fR(1)\n";
  }
  return out;
}

}  // namespace segstore::cli
