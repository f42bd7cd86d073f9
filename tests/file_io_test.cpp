// Tests for include/eqinfo/file_io.hpp: model paths must be regular files,
// and outputs are written atomically (an earlier file survives a failed
// write, no temporary file is left behind).
#include "eqinfo/file_io.hpp"

#include <catch2/catch.hpp>

#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.hpp"

using eqinfo_test::TempFile;
namespace fs = std::filesystem;

namespace {

// Files beside `path` whose names start with its name: the temporaries a
// writer of `path` may have left.
std::vector<std::string> leftovers(const std::string& path) {
  std::vector<std::string> out;
  const fs::path p(path);
  for (const auto& entry : fs::directory_iterator(p.parent_path()))
    if (entry.path().filename().string().rfind(p.filename().string() + ".tmp-", 0) == 0) out.push_back(entry.path().string());
  return out;
}

// Caps the size of files this process writes (RLIMIT_FSIZE) while alive:
// writes past the cap fail with EFBIG, as they would on a full disk.
// SIGXFSZ is ignored meanwhile so that the write fails instead of the process.
class FileSizeCap {
 public:
  explicit FileSizeCap(rlim_t bytes) {
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_) == 0);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit cap = old_;
    cap.rlim_cur = bytes;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &cap) == 0);
  }
  ~FileSizeCap() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }
  FileSizeCap(const FileSizeCap&) = delete;
  FileSizeCap& operator=(const FileSizeCap&) = delete;

 private:
  rlimit old_{};
  void (*old_handler_)(int) = nullptr;
};

}  // namespace

TEST_CASE("write_file_atomically writes and replaces a file, keeping the replaced file's mode", "[file_io]") {
  TempFile f(".txt");
  eqinfo::write_file_atomically(f.path(), [](std::ostream& out) { out << "first"; });
  CHECK(f.read() == "first");
  REQUIRE(::chmod(f.path().c_str(), 0640) == 0);
  eqinfo::write_file_atomically(f.path(), [](std::ostream& out) { out << "second, longer"; });
  CHECK(f.read() == "second, longer");
  CHECK((fs::status(f.path()).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read));
  CHECK(leftovers(f.path()).empty());
}

TEST_CASE("A failed write leaves the earlier file untouched and no temporary file", "[file_io]") {
  TempFile f(".txt");
  f.write("earlier output");
  SECTION("the writer throws") {
    CHECK_THROWS_WITH(eqinfo::write_file_atomically(f.path(),
                                                    [](std::ostream& out) {
                                                      out << "partial";
                                                      throw std::runtime_error("fill failed");
                                                    }),
                      "fill failed");
  }
  SECTION("the disk is full (a file size cap): the write error is reported with its cause") {
    const std::string big(1 << 20, 'x');
    const FileSizeCap cap(4096);
    CHECK_THROWS_WITH(eqinfo::write_file_atomically(f.path(), [&](std::ostream& out) { out << big; }),
                      f.path() + ": cannot write: File too large");
  }
  SECTION("the writer gives up on a failed stream: its exception becomes the write error") {
    const std::string big(1 << 20, 'x');
    const FileSizeCap cap(4096);
    CHECK_THROWS_WITH(eqinfo::write_file_atomically(f.path(),
                                                    [&](std::ostream& out) {
                                                      out << big;
                                                      if (!out) throw std::runtime_error("error writing");
                                                    }),
                      f.path() + ": cannot write: File too large");
  }
  CHECK(f.read() == "earlier output");
  CHECK(leftovers(f.path()).empty());
}

TEST_CASE("Writing to /dev/full or into a missing directory fails with the cause", "[file_io]") {
  CHECK_THROWS_WITH(eqinfo::write_file_atomically("/dev/full", [](std::ostream& out) { out << "x"; }),
                    "/dev/full: cannot write: No space left on device");
  const std::string missing = (fs::temp_directory_path() / "eqinfo_file_io_test_no_such_dir" / "out.json").string();
  CHECK_THROWS_WITH(eqinfo::write_file_atomically(missing, [](std::ostream& out) { out << "x"; }),
                    Catch::StartsWith(missing + ": cannot create a temporary file in ") &&
                        Catch::EndsWith("No such file or directory"));
  // /dev/null is written in place (it is not replaced by a regular file).
  eqinfo::write_file_atomically("/dev/null", [](std::ostream& out) { out << "x"; });
  CHECK(fs::is_character_file("/dev/null"));
}

TEST_CASE("Model paths must be regular files: a FIFO, a device or a directory is refused at once", "[file_io]") {
  TempFile fifo(".fifo");
  REQUIRE(::mkfifo(fifo.path().c_str(), 0600) == 0);
  // Without O_NONBLOCK this open would wait forever for a writer.
  CHECK_THROWS_WITH(eqinfo::read_regular_file(fifo.path()), fifo.path() + ": is a FIFO, not a regular file");
  CHECK_THROWS_WITH(eqinfo::read_regular_file("/dev/zero", "model '/dev/zero'"),
                    "model '/dev/zero': is a character device, not a regular file");
  CHECK_THROWS_WITH(eqinfo::open_regular_file("/"), "/: is a directory, not a regular file");
  CHECK_THROWS_WITH(eqinfo::read_regular_file(fifo.path() + ".missing"), fifo.path() + ".missing: cannot open: No such file or directory");
  TempFile regular(".bin");
  regular.write(std::string("a\0b", 3));
  CHECK(eqinfo::read_regular_file(regular.path()) == std::string("a\0b", 3));
}
