// Files as every tool and loader of eqinfo opens them: model files read only
// when they are regular files, and outputs written atomically.
//
// Reading a model: open_regular_file opens with O_NONBLOCK and checks the
// open descriptor with fstat, so a FIFO (whose open() would otherwise wait
// forever for a writer), a device such as /dev/zero (endless) or a directory
// is refused at once with its kind named, and nothing can be swapped in
// between the check and the open.
//
// Writing: write_file_atomically(path, fill) lets `fill` write into a
// temporary file in the directory of `path`, checks every write, fsyncs and
// closes it, and only then renames it over `path`.  A failed run (disk full,
// an exception in `fill`, a killed process) leaves an earlier `path` as it
// was and removes the temporary file; readers never see a partial file.  A
// `path` that exists and is not a regular file (/dev/null, /dev/full, a FIFO,
// a terminal) is written in place, since there is nothing to rename over;
// its write errors are reported all the same.
//
// Errors are std::runtime_error "LABEL: what is wrong[: strerror]", LABEL
// being the path (or what the caller calls the file), so that a tool prints
// "tool: LABEL: what is wrong".
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <limits>
#include <cerrno>
#include <cstring>
#include <optional>
#include <ostream>
#include <random>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <utility>

namespace eqinfo {

inline std::runtime_error file_error(const std::string& label, const std::string& what) {
  return std::runtime_error(label + ": " + what);
}
inline std::runtime_error file_errno_error(const std::string& label, const std::string& what, int error_number) {
  return file_error(label, what + ": " + std::strerror(error_number));
}

// An open file descriptor, closed when it goes out of scope.
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) noexcept : fd_(fd) {}
  ~FileDescriptor() { reset(); }
  FileDescriptor(FileDescriptor&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  FileDescriptor& operator=(FileDescriptor&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;

  [[nodiscard]] int get() const noexcept { return fd_; }
  // Closes now; returns close()'s errno, 0 on success (a close can report a
  // write that failed late, e.g. on NFS).
  int close() noexcept {
    if (fd_ < 0) return 0;
    const int r = ::close(std::exchange(fd_, -1));
    return r == 0 ? 0 : errno;
  }
  void reset() noexcept { (void)close(); }

 private:
  int fd_ = -1;
};

namespace detail {
inline const char* file_kind(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}
}  // namespace detail

// Opens `path` read-only, refusing anything but a regular file; `label`
// names the file in errors (default: the path).
inline FileDescriptor open_regular_file(const std::string& path, const std::string& label = {}) {
  const std::string& name = label.empty() ? path : label;
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) throw file_errno_error(name, "cannot open", errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw file_errno_error(name, "cannot stat", errno);
  if (!S_ISREG(st.st_mode)) throw file_error(name, std::string("is ") + detail::file_kind(st.st_mode) + ", not a regular file");
  return fd;
}

// The whole content of the regular file `path`, every read checked, read
// once: callers validate this copy and never look at the file again, so a
// file replaced or truncated while in use cannot change (or fault on) what
// was validated. A file longer than `max_bytes` is refused before it can
// exhaust memory (the size is counted while reading, not taken from fstat,
// which a file growing under us would outrun).
inline std::string read_regular_file(const std::string& path, const std::string& label = {},
                                     std::size_t max_bytes = std::numeric_limits<std::size_t>::max()) {
  const std::string& name = label.empty() ? path : label;
  const FileDescriptor fd = open_regular_file(path, name);
  std::string content;
  std::array<char, 1 << 16> buffer;
  while (true) {
    const ssize_t got = ::read(fd.get(), buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw file_errno_error(name, "cannot read", errno);
    if (got == 0) return content;
    if (static_cast<std::size_t>(got) > max_bytes - content.size())
      throw file_error(name, "is larger than the limit of " + std::to_string(max_bytes) + " bytes");
    content.append(buffer.data(), static_cast<std::size_t>(got));
  }
}

// A std::streambuf writing to a file descriptor that keeps the errno of the
// first failed write (the stream itself only knows "bad").
class FileDescriptorStreambuf : public std::streambuf {
 public:
  explicit FileDescriptorStreambuf(int fd) : fd_(fd) { setp(buffer_.data(), buffer_.data() + buffer_.size()); }
  [[nodiscard]] int error() const noexcept { return error_; }

 protected:
  int_type overflow(int_type c) override {
    if (!drain()) return traits_type::eof();
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    *pptr() = traits_type::to_char_type(c);
    pbump(1);
    return c;
  }
  int sync() override { return drain() ? 0 : -1; }

 private:
  bool drain() {
    if (error_) return false;
    const char* p = pbase();
    while (p < pptr()) {
      const ssize_t put = ::write(fd_, p, static_cast<std::size_t>(pptr() - p));
      if (put < 0 && errno == EINTR) continue;
      if (put < 0) {
        error_ = errno;
        return false;
      }
      p += put;
    }
    setp(buffer_.data(), buffer_.data() + buffer_.size());
    return true;
  }

  int fd_;
  int error_ = 0;
  std::array<char, 1 << 16> buffer_;
};

// The writer behind write_file_atomically: the temporary file (or, for a
// non-regular `path`, `path` itself) as a stream; commit() makes it `path`.
// Destroyed without commit(), it removes the temporary file.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path) : path_(std::move(path)) {
    struct stat target {};
    const bool exists = ::stat(path_.c_str(), &target) == 0;
    if (exists && !S_ISREG(target.st_mode)) {
      fd_ = FileDescriptor(::open(path_.c_str(), O_WRONLY | O_CLOEXEC));
      if (fd_.get() < 0) throw file_errno_error(path_, "cannot open for writing", errno);
    } else {
      create_temporary(exists ? target.st_mode & 07777 : 0);
    }
    buffer_.emplace(fd_.get());
    stream_.rdbuf(&*buffer_);
  }
  ~AtomicFileWriter() {
    if (!temporary_.empty()) {
      fd_.reset();
      ::unlink(temporary_.c_str());
    }
  }
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  [[nodiscard]] std::ostream& stream() { return stream_; }
  // The error of a failed write, if one failed (else nothing is thrown).
  void check_writes() const {
    if (buffer_->error()) throw file_errno_error(path_, "cannot write", buffer_->error());
    if (!stream_) throw file_error(path_, "cannot write");
  }

  // Flushes, fsyncs and closes the file, then renames it over `path`.
  void commit() {
    stream_.flush();
    check_writes();
    if (!temporary_.empty() && ::fsync(fd_.get()) != 0) throw file_errno_error(path_, "cannot sync to disk", errno);
    if (const int e = fd_.close()) throw file_errno_error(path_, "cannot close", e);
    if (temporary_.empty()) return;
    if (::rename(temporary_.c_str(), path_.c_str()) != 0)
      throw file_errno_error(path_, "cannot rename " + temporary_ + " over it", errno);
    temporary_.clear();
    // Make the rename itself durable.  Best effort: the file is complete and
    // in place either way, and some file systems refuse a directory fsync.
    if (FileDescriptor dir(::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)); dir.get() >= 0) (void)::fsync(dir.get());
  }

 private:
  // PATH.tmp-<pid>-<random>, created exclusively; `mode` 0 gives the mode a
  // new file gets (0666 less the umask), else the replaced file's mode.
  void create_temporary(mode_t mode) {
    const auto slash = path_.rfind('/');
    directory_ = slash == std::string::npos ? "." : slash == 0 ? "/" : path_.substr(0, slash);
    std::random_device entropy;
    for (int attempt = 0; attempt < 100; ++attempt) {
      temporary_ = path_ + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(entropy());
      fd_ = FileDescriptor(::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
      if (fd_.get() >= 0) break;
      if (errno != EEXIST) {
        const int e = errno;
        temporary_.clear();
        throw file_errno_error(path_, "cannot create a temporary file in " + directory_, e);
      }
    }
    if (fd_.get() < 0) {
      temporary_.clear();
      throw file_error(path_, "cannot create a temporary file in " + directory_ + ": every name taken");
    }
    if (mode != 0) (void)::fchmod(fd_.get(), mode);
  }

  std::string path_, directory_, temporary_;  // temporary_ empty: writing in place, or renamed
  FileDescriptor fd_;
  std::optional<FileDescriptorStreambuf> buffer_;
  std::ostream stream_{nullptr};
};

// Calls fill(std::ostream&) to write `path` atomically (see the top of this
// file).  A write that fails inside `fill` is reported as the write error
// (e.g. "PATH: cannot write: No space left on device") rather than as
// whatever `fill` made of the failed stream.
template <class F>
void write_file_atomically(const std::string& path, F&& fill) {
  AtomicFileWriter writer(path);
  try {
    fill(writer.stream());
  } catch (...) {
    writer.check_writes();
    throw;
  }
  writer.commit();
}

}  // namespace eqinfo
