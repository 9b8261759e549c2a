// nervemap io, DICOM: pixel data as HU. Uncompressed little-endian pixel data (nearly every CT) is read
// straight from the offset the header walker found. Compressed data (JPEG, JPEG-LS, JPEG 2000, RLE),
// deflated and big-endian files are decoded by GDCM in a forked child process, because its codecs
// abort or corrupt memory on damaged data (see decode_compressed_isolated). The only file of the
// reader that includes GDCM.
#include "io/internal_dicom.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <fmt/format.h>
#include <gdcmImage.h>
#include <gdcmImageReader.h>
#include <gdcmPixelFormat.h>
#include <gdcmTrace.h>
#include <mutex>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace nervemap::io::dicom {
namespace {

struct PixelLayout {
  size_t bytes = 2; //!< per pixel in the buffer: 1, 2 or 4 (little-endian)
  bool is_signed = false;
  int bits_stored = 16;
  int high_bit = 15;
};

//! Stored values → HU = stored × slope + intercept (PS3.3 C.11.1.1.2, per slice).
void stored_to_hu(const uint8_t* data,
                  size_t count,
                  const PixelLayout& layout,
                  double slope,
                  double intercept,
                  float* out) {
  const int width = int(layout.bytes * 8);
  // Only BitsStored of the allocated bits hold the value (PS3.5 §8.1.1); CT requires High Bit =
  // Bits Stored − 1 (PS3.3 C.8.2.1.1), so the value sits in the low bits: mask off whatever the
  // unused high bits hold (overlays in old files) and sign-extend from the stored width.
  const int bits =
      layout.bits_stored > 0 && layout.bits_stored < width && layout.high_bit == layout.bits_stored - 1
          ? layout.bits_stored
          : width;
  const uint32_t mask = bits == 32 ? 0xFFFFFFFFu : (uint32_t(1) << bits) - 1;
  for (size_t p = 0; p < count; ++p) {
    const uint8_t* b = data + p * layout.bytes;
    uint32_t raw = b[0];
    if (layout.bytes >= 2)
      raw |= uint32_t(b[1]) << 8;
    if (layout.bytes == 4)
      raw |= uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
    raw &= mask;
    const int64_t value =
        layout.is_signed && (raw >> (bits - 1)) & 1 ? int64_t(raw) - (int64_t(1) << bits) : int64_t(raw);
    out[p] = float(double(value) * slope + intercept);
  }
}

//! Compressed (JPEG, JPEG-LS, JPEG 2000, RLE), deflated or big-endian pixel data, decoded by GDCM.
void decode_with_gdcm(const SliceHeader& s, float* out) {
  static_assert(std::endian::native == std::endian::little, "GDCM buffers are in host byte order");
  gdcm::ImageReader reader;
  reader.SetFileName(s.path.c_str());
  if (!reader.Read())
    throw InputError(fmt::format("{}: GDCM cannot read the image (transfer syntax {})",
                                 s.display,
                                 s.transfer_syntax.empty() ? "unknown" : s.transfer_syntax));
  const gdcm::Image& image = reader.GetImage();
  if (image.GetColumns() != unsigned(s.columns) || image.GetRows() != unsigned(s.rows))
    throw InputError(fmt::format("{}: decoded image is {}×{}, header says {}×{}",
                                 s.display,
                                 image.GetColumns(),
                                 image.GetRows(),
                                 s.columns,
                                 s.rows));
  const gdcm::PixelFormat& pf = image.GetPixelFormat();
  const size_t count = size_t(s.rows) * size_t(s.columns);
  const size_t length = image.GetBufferLength();
  if (pf.GetSamplesPerPixel() != 1 || length % count != 0)
    throw InputError(fmt::format(
        "{}: unexpected decoded pixel layout ({} bytes for {} pixels)", s.display, length, count));
  PixelLayout layout;
  layout.bytes = length / count;
  if (layout.bytes != 1 && layout.bytes != 2 && layout.bytes != 4)
    throw InputError(fmt::format("{}: unsupported pixel size of {} bytes", s.display, layout.bytes));
  layout.is_signed = pf.GetPixelRepresentation() == 1;
  layout.bits_stored = pf.GetBitsStored();
  layout.high_bit = pf.GetHighBit();
  std::vector<char> buffer(length);
  if (!image.GetBuffer(buffer.data()))
    throw InputError(fmt::format("{}: the pixel data cannot be decoded (transfer syntax {}); the file may be "
                                 "corrupt",
                                 s.display,
                                 s.transfer_syntax));
  stored_to_hu(reinterpret_cast<const uint8_t*>(buffer.data()), count, layout, s.slope, s.intercept, out);
}

//! Anonymous shared memory, visible to a forked child; unmapped on scope exit.
class SharedMemory {
public:
  explicit SharedMemory(size_t bytes) : size_(std::max<size_t>(bytes, 1)) {
    data_ = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (data_ == MAP_FAILED)
      throw std::runtime_error(
          fmt::format("cannot map {} bytes of shared memory: {}", size_, std::strerror(errno)));
  }
  ~SharedMemory() { munmap(data_, size_); }
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;
  void* data() const { return data_; }

private:
  size_t size_;
  void* data_;
};

struct ChildReport {
  int32_t current = -1; //!< slice being decoded
  char message[1024] = {};
};

} // namespace

void quiet_gdcm() {
  // GDCM reports through its own stderr trace; nervemap reports problems as InputError and
  // warnings, and the CLI promises one `error:` line (design §7).
  static std::once_flag once;
  std::call_once(once, [] {
    gdcm::Trace::SetDebug(false);
    gdcm::Trace::SetWarning(false);
    gdcm::Trace::SetError(false);
  });
}

//! Uncompressed little-endian pixel data is read straight from the offset the walker found.
bool is_native_little_endian(const SliceHeader& s) {
  return !s.encapsulated && s.transfer_syntax != kExplicitVrBigEndian &&
         s.transfer_syntax != kDeflatedExplicitVrLittleEndian &&
         (s.bits_allocated == 8 || s.bits_allocated == 16 || s.bits_allocated == 32);
}

void decode_native(const SliceHeader& s, float* out) {
  const size_t count = size_t(s.rows) * size_t(s.columns);
  PixelLayout layout;
  layout.bytes = size_t(s.bits_allocated / 8);
  layout.is_signed = s.pixel_representation == 1;
  layout.bits_stored = s.bits_stored;
  layout.high_bit = s.high_bit;
  std::vector<uint8_t> buffer(count * layout.bytes);
  ByteSource src(s.path);
  if (!src.read(s.pixel_data_offset, buffer.data(), buffer.size()))
    throw InputError(
        fmt::format("{}: cannot read its pixel data (the file changed or is truncated)", s.display));
  stored_to_hu(buffer.data(), count, layout, s.slope, s.intercept, out);
}

// Compressed slices are decoded by GDCM in a forked child process. GDCM 3.0.21's codecs are not
// safe on damaged data: its RLE and JPEG codecs abort on assertions and its JPEG 2000 path can
// corrupt the heap (found by corrupting gdcmconv-compressed copies of the fixtures). In a child, a
// damaged file costs an InputError naming it instead of the CLI or the web service. The child only
// decodes into shared memory and leaves with _exit(); it also gets an address-space limit and the
// parent a deadline, against runaway allocations and loops on crafted data.
void decode_compressed_isolated(const std::vector<const SliceHeader*>& slices,
                                const std::vector<float*>& targets) {
  if (slices.empty())
    return;
  const size_t count = size_t(slices.front()->rows) * size_t(slices.front()->columns);
  SharedMemory shared(sizeof(ChildReport) + slices.size() * count * sizeof(float));
  auto* report = new (shared.data()) ChildReport();
  auto* pixels = reinterpret_cast<float*>(static_cast<char*>(shared.data()) + sizeof(ChildReport));

  std::fflush(nullptr); // no buffered output written twice
  const pid_t pid = fork();
  if (pid < 0)
    throw std::runtime_error(fmt::format("cannot start a decoder process: {}", std::strerror(errno)));
  if (pid == 0) {
    // The decoders' assertion messages are no business of the user: the parent reports the file.
    if (const int null = ::open("/dev/null", O_WRONLY); null >= 0)
      dup2(null, STDERR_FILENO);
    long pages = 0;
    if (std::ifstream statm("/proc/self/statm"); statm >> pages) {
      const rlim_t limit = rlim_t(pages) * rlim_t(sysconf(_SC_PAGESIZE)) + (rlim_t(4) << 30);
      const rlimit rl{limit, limit};
      setrlimit(RLIMIT_AS, &rl);
    }
    for (size_t n = 0; n < slices.size(); ++n) {
      report->current = int32_t(n);
      try {
        decode_with_gdcm(*slices[n], pixels + n * count);
      } catch (const std::exception& e) {
        std::snprintf(report->message, sizeof report->message, "%s", e.what());
        _exit(1);
      } catch (...) {
        _exit(2);
      }
    }
    _exit(0);
  }

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30 + 2 * slices.size());
  int status = 0;
  while (true) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid)
      break;
    if (done < 0 && errno != EINTR)
      throw std::runtime_error(fmt::format("lost the decoder process: {}", std::strerror(errno)));
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      status = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const int current = std::clamp(report->current, 0, int(slices.size()) - 1);
  const SliceHeader& at = *slices[size_t(current)];
  if (status == -1)
    throw InputError(
        fmt::format("{}: decoding its compressed pixel data (transfer syntax {}) did not finish; the "
                    "file is probably corrupt",
                    at.display,
                    at.transfer_syntax));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
    throw InputError(std::string(report->message, strnlen(report->message, sizeof report->message)));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw InputError(fmt::format(
        "{}: its compressed pixel data (transfer syntax {}) is corrupt: the decoder {}",
        at.display,
        at.transfer_syntax,
        WIFSIGNALED(status) ? fmt::format("crashed (signal {})", WTERMSIG(status)) : std::string("failed")));
  for (size_t n = 0; n < slices.size(); ++n)
    std::copy(pixels + n * count, pixels + (n + 1) * count, targets[n]);
}

} // namespace nervemap::io::dicom
