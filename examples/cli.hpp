// What the eqinfo command-line tools share: a small "--flag value" parser,
// the tokenizer settings flags, and reading/writing files or stdin/stdout.
#pragma once

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <new>
#include <optional>
#include <set>
#include <stdexcept>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <eqinfo/bundled_models.hpp>
#include <eqinfo/file_io.hpp>
#include <eqinfo/tokenizer_factory.hpp>
#include <eqinfo/utf8.hpp>
#include <eqinfo/version.hpp>

namespace eqinfo::cli {

// Thrown for bad command lines; main() prints it with the usage and exits 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Arguments {
 public:
  // `valued` flags take a value; `switches` take none. The short forms -h, -o FILE and -f are
  // --help, --output FILE and --force; a lone "-" is a positional argument (stdin or stdout).
  Arguments(int argc, char** argv, const std::set<std::string>& valued, const std::set<std::string>& switches) {
    static const std::map<std::string, std::string> kShort{{"-h", "--help"}, {"-o", "--output"}, {"-f", "--force"}};
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (const auto s = kShort.find(a); s != kShort.end() && (valued.count(s->second) || switches.count(s->second))) a = s->second;
      if (a.size() > 2 && a.rfind("--", 0) == 0) {
        std::string value;
        bool has_value = false;
        if (auto eq = a.find('='); eq != std::string::npos) {
          value = a.substr(eq + 1);
          a = a.substr(0, eq);
          has_value = true;
        }
        if (switches.count(a)) {
          if (has_value) throw UsageError(a + " takes no value");
          flags_[a] = "1";
        } else if (valued.count(a)) {
          if (!has_value) {
            if (i + 1 >= argc) throw UsageError(a + " needs a value");
            value = argv[++i];
          }
          flags_[a] = value;
        } else {
          throw UsageError("unknown option " + a);
        }
      } else if (a.size() > 1 && a[0] == '-') {
        throw UsageError("unknown option " + a);
      } else {
        positional_.push_back(a);
      }
    }
  }

  [[nodiscard]] bool has(const std::string& flag) const { return flags_.count(flag) > 0; }
  [[nodiscard]] std::string get(const std::string& flag, const std::string& fallback) const {
    auto it = flags_.find(flag);
    return it == flags_.end() ? fallback : it->second;
  }
  // The flag's value as an integer in [min, max] (`fallback` when absent).
  // Only decimal digits are accepted: no sign, space, '+' or hex, and a value
  // outside the range is refused, never wrapped (std::stoul would take "-1"
  // as 2^64 - 1 and a cast would then cut 2^32 + 8 to 8).
  [[nodiscard]] unsigned get_unsigned(const std::string& flag, unsigned fallback, unsigned min, unsigned max) const {
    return static_cast<unsigned>(get_u64(flag, fallback, min, max));
  }
  [[nodiscard]] std::uint64_t get_u64(const std::string& flag, std::uint64_t fallback, std::uint64_t min, std::uint64_t max) const {
    if (!has(flag)) return fallback;
    const std::string v = get(flag, "");
    std::uint64_t x = 0;
    const auto [end, error] = std::from_chars(v.data(), v.data() + v.size(), x);
    const bool digits_only = !v.empty() && v.find_first_not_of("0123456789") == std::string::npos;
    if (!digits_only || error != std::errc() || end != v.data() + v.size() || x < min || x > max)
      throw UsageError(flag + " expects an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "], got '" + v + "'");
    return x;
  }
  [[nodiscard]] unsigned get_threads(unsigned fallback) const { return get_unsigned("--threads", fallback, 1, kMaxThreads); }
  static constexpr unsigned kMaxThreads = 256;
  [[nodiscard]] const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> flags_;
  std::vector<std::string> positional_;
};

inline const std::set<std::string> kSpecFlags{"--method", "--window-bits", "--token-bits", "--model", "--frequency-bits", "--kernel", "--threads"};

inline const char* kSpecHelp =
    "  --method M            equalinfo (default) | ac | staticac | gzip | gzip-raw | bytes\n"
    "  --window-bits B       Equal-Info window size b: 12 16 24 32 48 64 128 (default 16)\n"
    "  --token-bits N        token size N in 1..16, N <= b (default 16; bytes: always 8 + EOS)\n"
    "  --model MODEL         a model file, recognised by its content: an M1 .safetensors export or a\n"
    "                        static model .json (from eqinfo-build-static-model); or uniform.\n"
    "                        m1:PATH and static:PATH force the kind.  Default: the bundled M1 for\n"
    "                        equalinfo and ac, the bundled order-0 model for staticac\n"
    "  --frequency-bits P    model precision: 12 14 16 (default 14; an M1 file sets its own), P <= b\n"
    "  --kernel K            M1 kernel: simd (default) | scalar — identical tokens, different speed\n"
    "  --threads T           worker threads (default 1): documents in parallel when there are several,\n"
    "                        else M1's rows — identical tokens, different speed\n"
    "  -o, --output FILE     write to FILE (instead of a second positional OUTPUT; default stdout)\n"
    "  -f, --force           overwrite an existing output file (without it, an existing file is refused)\n"
    "  -h, --help            this help;  --version  the eqinfo version\n";

// Prints "TOOL VERSION" for --version.
inline void print_version(const char* tool) { std::cout << tool << ' ' << kVersion << '\n'; }

// --help (the usage on stdout) or --version: true when one was printed and the tool is done.
inline bool print_help_or_version(const Arguments& args, const char* tool, const std::string& usage) {
  if (args.has("--help")) {
    std::cout << usage;
    return true;
  }
  if (args.has("--version")) {
    print_version(tool);
    return true;
  }
  return false;
}

// The command line of a tool that takes the tokenizer settings, INPUT and
// OUTPUT: the spec flags plus the tool's own, --help / --version (printed on
// stdout: returns nullopt), and [INPUT [OUTPUT]] or -o OUTPUT, each "-"
// (stdin, stdout) when absent.
struct ToolCommandLine {
  Arguments args;
  std::string input, output;
  bool force = false;
};
inline std::optional<ToolCommandLine> parse_tool_command_line(int argc, char** argv, const char* tool, const char* usage,
                                                              std::set<std::string> valued, std::set<std::string> switches) {
  valued.insert(kSpecFlags.begin(), kSpecFlags.end());
  valued.insert("--output");
  switches.insert({"--help", "--version", "--force"});
  Arguments args(argc, argv, valued, switches);
  if (print_help_or_version(args, tool, std::string(usage) + kSpecHelp)) return std::nullopt;
  const auto& positional = args.positional();
  if (positional.size() > 2) throw UsageError("expected at most INPUT and OUTPUT, got " + std::to_string(positional.size()) + " arguments");
  if (positional.size() == 2 && args.has("--output")) throw UsageError("OUTPUT given twice (as an argument and as -o)");
  const std::string input = positional.empty() ? "-" : positional[0];
  const std::string output = positional.size() == 2 ? positional[1] : args.get("--output", "-");
  if (output.empty()) throw UsageError("-o needs a file name");
  const bool force = args.has("--force");
  return ToolCommandLine{std::move(args), input, output, force};
}

// A flag whose value must be one of `choices`; `fallback` when it is absent.
inline std::string get_choice(const Arguments& args, const std::string& flag, const std::string& fallback,
                              const std::set<std::string>& choices) {
  const std::string v = args.get(flag, fallback);
  if (!choices.count(v)) {
    std::string list;
    for (const auto& c : choices) list += (list.empty() ? "" : " or ") + c;
    throw UsageError(flag + " must be " + list);
  }
  return v;
}

// Where an installed tool's models are: <prefix>/share/eqinfo/models beside <prefix>/bin/TOOL,
// found from the executable itself, so a moved prefix still works (bundled_models.hpp searches
// it after $EQINFO_MODELS_DIR and before the compiled-in folder).
inline std::vector<std::filesystem::path> models_beside_executable() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  return {exe.parent_path().parent_path() / "share" / "eqinfo" / "models"};
}

// The model a method uses when --model is not given: the bundled M1 for Equal-Info and AC (as the
// Python package does), the bundled order-0 model for StaticAC.
inline std::string default_model(Method method) {
  const auto beside = models_beside_executable();
  if (method == Method::kStaticAc) return "static:" + bundled_models::path("static", beside).string();
  return "m1:" + bundled_models::path("m1", beside).string();
}

// Settings from flags, with `base` supplying what the flags leave out.
inline TokenizerSpec spec_from(const Arguments& args, TokenizerSpec base = {}) {
  if (args.has("--method")) {
    const auto m = parse_method(args.get("--method", ""));
    if (!m) throw UsageError("unknown --method '" + args.get("--method", "") + "'");
    base.method = *m;
  }
  if (uses_model(base.method) && !args.has("--model")) base.model = default_model(base.method);
  // The ranges of the flags' help; make_tokenizer then names the values it
  // supports within them.
  base.window_bits = args.get_unsigned("--window-bits", base.window_bits, 1, 128);
  base.token_bits = args.get_unsigned("--token-bits", base.token_bits, 1, 16);
  base.model = args.get("--model", base.model);
  if (args.has("--frequency-bits")) base.frequency_bits = args.get_unsigned("--frequency-bits", 0, 1, 16);
  if (args.has("--kernel")) {
    const auto k = m1::parse_kernel_kind(args.get("--kernel", ""));
    if (!k) throw UsageError("--kernel must be simd or scalar");
    base.kernel = *k;
  }
  base.threads = args.get_threads(static_cast<unsigned>(base.threads));
  if (!uses_model(base.method) && args.has("--model"))
    throw UsageError("--model is not used by --method " + std::string(method_name(base.method)));
  return base;
}

// The whole of `path` ("-": stdin), which may be any readable file (a pipe
// or FIFO included: inputs, unlike models, are not required to be regular).
// Reads INPUT through fn(std::istream&): "-" is stdin. A read error is
// reported naming the input.
template <class F>
void with_input(const std::string& path, F&& fn) {
  const bool from_stdin = path == "-";
  std::ifstream file;
  if (!from_stdin) {
    file.open(path, std::ios::binary);
    if (!file) throw file_errno_error(path, "cannot open", errno);
  }
  std::istream& in = from_stdin ? std::cin : file;
  const std::string name = from_stdin ? "stdin" : path;
  try {
    fn(in);
  } catch (const std::bad_alloc&) {
    throw file_error(name, "does not fit in memory");
  }
  if (in.bad()) throw file_error(name, "cannot read");
}

inline std::string read_all(const std::string& path) {
  std::string content;
  with_input(path, [&](std::istream& in) { content.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()); });
  return content;
}

// An OUTPUT that is an existing regular file is refused unless `force` (-f).
inline void refuse_existing_output(const std::string& path, bool force) {
  std::error_code ec;
  if (path != "-" && !force && std::filesystem::is_regular_file(path, ec))
    throw std::invalid_argument(path + ": exists; use -f to overwrite it");
}

// Writes OUTPUT through fn(std::ostream&): "-" is stdout (flushed and
// checked), anything else is written atomically (eqinfo/file_io.hpp), so a
// failed run leaves an earlier OUTPUT untouched. An existing regular file is
// only replaced with `force` (-f): a mistyped OUTPUT must not destroy a corpus.
template <class F>
void with_output(const std::string& path, bool force, F&& fn) {
  refuse_existing_output(path, force);
  if (path != "-") return write_file_atomically(path, fn);
  std::cout.flush();
  fn(std::cout);
  std::cout.flush();
  if (!std::cout) throw file_error("stdout", "cannot write");
}

// Runs a tool's body, turning exceptions into messages and exit codes:
// 2 for usage errors and refused inputs, 1 for anything else.
template <class F>
int run_tool(const char* name, const char* usage, F&& body) {
  try {
    return body();
  } catch (const UsageError& e) {
    std::cerr << name << ": " << e.what() << "\n\n" << usage;
    return 2;
  } catch (const std::invalid_argument& e) {
    std::cerr << name << ": " << e.what() << "\n";
    return 2;
  } catch (const std::bad_alloc&) {
    std::cerr << name << ": out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << name << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace eqinfo::cli
