// Zip archives: detection by content, extraction, and refusal of unsafe or oversized archives with
// nothing written (design §9). Test archives are built with libzip.
#include "helpers.h"
#include "io/io.h"
#include "support/test_support.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <zip.h>

namespace nervemap::io {
namespace {

using io_test::input_error;
using io_test::read_bytes;
using io_test::write_bytes;
using test::shared_path;
using test::TempDir;
using ::testing::HasSubstr;

struct Spec {
  std::string name;
  std::string data;
  bool symlink = false;
};

Spec dir(std::string name) {
  return {std::move(name), {}};
}
Spec file(std::string name, std::string data = "payload") {
  return {std::move(name), std::move(data)};
}

//! Writes a zip; names ending in '/' become directory entries, `symlink` entries get Unix mode
//! S_IFLNK in their external attributes (as Info-ZIP stores a link, the data being its target).
void make_zip(const fs::path& path, const std::vector<Spec>& entries, bool deflate = true) {
  int error = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  ASSERT_NE(z, nullptr) << "zip_open error " << error;
  for (const auto& e : entries) {
    zip_int64_t index;
    if (!e.name.empty() && e.name.back() == '/') {
      index = zip_dir_add(z, e.name.c_str(), ZIP_FL_ENC_UTF_8);
    } else {
      zip_source_t* src = zip_source_buffer(z, e.data.data(), e.data.size(), 0);
      ASSERT_NE(src, nullptr);
      index = zip_file_add(z, e.name.c_str(), src, ZIP_FL_ENC_UTF_8);
      if (index < 0)
        zip_source_free(src);
    }
    ASSERT_GE(index, 0) << "libzip refused entry " << e.name << ": " << zip_strerror(z);
    zip_set_file_compression(z, zip_uint64_t(index), deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
    if (e.symlink) {
      ASSERT_EQ(zip_file_set_external_attributes(
                    z, zip_uint64_t(index), 0, ZIP_OPSYS_UNIX, zip_uint32_t(S_IFLNK | 0777) << 16),
                0);
    }
  }
  ASSERT_EQ(zip_close(z), 0) << zip_strerror(z);
}

void put_u32(std::string& bytes, size_t at, uint32_t v) {
  for (int b = 0; b < 4; ++b)
    bytes[at + size_t(b)] = char(v >> (8 * b) & 0xFF);
}

//! Refused: InputError mentioning `why`, no destination folder, and nothing beside it either.
void expect_refused(const fs::path& zip, const std::string& why, const ZipLimits& limits = {}) {
  TempDir out;
  const fs::path dest = out / "dest";
  const std::string message = input_error([&] { extract_zip(zip, dest, limits); });
  EXPECT_THAT(message, HasSubstr(why));
  EXPECT_FALSE(fs::exists(dest)) << "the destination was created for a refused archive";
  EXPECT_TRUE(test::list_files(out.path()).empty()) << "files were written for a refused archive";
}

TEST(Zip, IsZipDecidesByContent) {
  TempDir tmp;
  EXPECT_TRUE(is_zip(shared_path("fixtures/geometry/dicom/series_a.zip")));
  EXPECT_FALSE(is_zip(shared_path("fixtures/geometry/dicom/real_ct_small/CT_small.dcm")));
  EXPECT_FALSE(is_zip(tmp / "missing.zip"));
  EXPECT_FALSE(is_zip(tmp.path()));
  write_bytes(tmp / "text.zip", "not a zip at all");
  EXPECT_FALSE(is_zip(tmp / "text.zip"));
  write_bytes(tmp / "empty.bin", std::string("PK\x05\x06", 4) + std::string(18, '\0'));
  EXPECT_TRUE(is_zip(tmp / "empty.bin"));
  make_zip(tmp / "renamed.nii.gz", {file("a.txt")});
  EXPECT_TRUE(is_zip(tmp / "renamed.nii.gz"));
}

TEST(Zip, ExtractsTheSeriesAFixture) {
  TempDir tmp;
  const fs::path dest = tmp / "out";
  const auto files = extract_zip(shared_path("fixtures/geometry/dicom/series_a.zip"), dest);
  ASSERT_EQ(files.size(), 12u);
  for (const auto& f : files) {
    EXPECT_EQ(f.parent_path(), dest / "export" / "CT_SERIES_A");
    EXPECT_EQ(read_bytes(f), read_bytes(shared_path("fixtures/geometry/dicom/series_a") / f.filename()))
        << f.filename();
  }
  EXPECT_EQ(test::list_files(dest).size(), 12u);
}

TEST(Zip, ExtractsNestedEntriesAndEmptyFolders) {
  TempDir tmp;
  const fs::path zip = tmp / "nested.zip";
  make_zip(zip, {file("top.txt", "top"), file("a/b/c.txt", "deep"), dir("empty/"), file("./dot/x.txt", "x")});
  const fs::path dest = tmp / "out";
  auto files = extract_zip(zip, dest);
  std::sort(files.begin(), files.end());
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(read_bytes(dest / "top.txt"), "top");
  EXPECT_EQ(read_bytes(dest / "a" / "b" / "c.txt"), "deep");
  EXPECT_EQ(read_bytes(dest / "dot" / "x.txt"), "x");
  EXPECT_TRUE(fs::is_directory(dest / "empty"));
  EXPECT_EQ(test::list_files(dest), (std::vector<std::string>{"a/b/c.txt", "dot/x.txt", "top.txt"}));
}

TEST(Zip, ExtractsStoredEntriesIntoAnExistingFolder) {
  TempDir tmp;
  const fs::path zip = tmp / "stored.zip";
  make_zip(zip, {file("one.bin", std::string(70000, 'q'))}, /*deflate=*/false);
  fs::create_directories(tmp / "out");
  write_bytes(tmp / "out" / "keep.txt", "mine");
  const auto files = extract_zip(zip, tmp / "out");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(read_bytes(tmp / "out" / "one.bin"), std::string(70000, 'q'));
  EXPECT_EQ(read_bytes(tmp / "out" / "keep.txt"), "mine");
}

struct UnsafeName {
  std::string name;
  std::string why;
};

class ZipUnsafeEntry : public ::testing::TestWithParam<UnsafeName> {};

TEST_P(ZipUnsafeEntry, RefusesTheWholeArchive) {
  TempDir tmp;
  const fs::path zip = tmp / "evil.zip";
  // A harmless entry first: it must not be written either.
  make_zip(zip, {file("good.txt"), file(GetParam().name, "owned")});
  expect_refused(zip, GetParam().why);
  EXPECT_FALSE(fs::exists(tmp.path().parent_path() / "evil"));
}

INSTANTIATE_TEST_SUITE_P(Zip,
                         ZipUnsafeEntry,
                         ::testing::Values(UnsafeName{"../evil", "'..'"},
                                           UnsafeName{"a/../../evil", "'..'"},
                                           UnsafeName{"/abs", "absolute"},
                                           UnsafeName{"/tmp/abs", "absolute"},
                                           UnsafeName{"C:/x", "drive letter"},
                                           UnsafeName{"c:x", "drive letter"},
                                           UnsafeName{"a\\b", "backslash"},
                                           UnsafeName{"..\\evil", "backslash"}));

TEST(Zip, RefusesSymlinkEntries) {
  TempDir tmp;
  const fs::path zip = tmp / "link.zip";
  Spec link = file("link", "/etc/passwd");
  link.symlink = true;
  make_zip(zip, {file("good.txt"), link});
  expect_refused(zip, "symbolic link");
}

TEST(Zip, RefusesTooManyEntries) {
  TempDir tmp;
  const fs::path zip = tmp / "many.zip";
  make_zip(zip, {file("1"), file("2"), file("3"), file("4"), file("5")});
  ZipLimits limits;
  limits.max_entries = 4;
  expect_refused(zip, "5 entries, more than the limit of 4", limits);
  limits.max_entries = 5;
  TempDir out;
  EXPECT_EQ(extract_zip(zip, out / "d", limits).size(), 5u);
}

TEST(Zip, RefusesDeclaredSizeOverTheLimit) {
  TempDir tmp;
  const fs::path zip = tmp / "big.zip";
  make_zip(zip, {file("a.bin", std::string(60, 'a')), file("b.bin", std::string(60, 'b'))});
  ZipLimits limits;
  limits.max_total_bytes = 100;
  expect_refused(zip, "entries declare more than the limit of 100 bytes", limits);
  limits.max_total_bytes = 120;
  TempDir out;
  EXPECT_EQ(extract_zip(zip, out / "d", limits).size(), 2u);
}

//! A zip bomb in miniature: 200 000 zero bytes deflate to a few hundred, and the headers are edited
//! to declare 10 bytes, so the central-directory check passes and only counting can stop it.
void make_lying_zip(const fs::path& zip) {
  make_zip(zip, {file("zeros.bin", std::string(200000, '\0'))});
  std::string bytes = read_bytes(zip);
  ASSERT_EQ(bytes.compare(0, 4, "PK\x03\x04"), 0);
  put_u32(bytes, 22, 10); // local header: uncompressed size (APPNOTE 4.3.7)
  const size_t central = bytes.find("PK\x01\x02");
  ASSERT_NE(central, std::string::npos);
  put_u32(bytes, central + 24, 10); // central directory: uncompressed size (APPNOTE 4.3.12)
  write_bytes(zip, bytes);
}

TEST(Zip, CountsRealBytesWhenDeclaredSizesLie) {
  TempDir tmp;
  const fs::path zip = tmp / "liar.zip";
  make_lying_zip(zip);
  ZipLimits limits;
  limits.max_total_bytes = 1000;
  TempDir out;
  const fs::path dest = out / "dest";
  const std::string message = input_error([&] { extract_zip(zip, dest, limits); });
  EXPECT_THAT(message, HasSubstr("more than the limit of 1000 bytes"));
  EXPECT_THAT(message, HasSubstr("inflates beyond its declared size"));
  EXPECT_FALSE(fs::exists(dest));
}

//! What `f` throws: "limit" (a LimitError), "input" (any other InputError) or "nothing".
template <class F> std::string refusal_kind(F&& f) {
  try {
    f();
  } catch (const LimitError&) {
    return "limit";
  } catch (const InputError&) {
    return "input";
  }
  return "nothing";
}

TEST(Zip, LimitRefusalsAreLimitErrorsAndOthersAreNot) {
  TempDir tmp, out;
  ZipLimits limits;
  limits.max_entries = 4;
  limits.max_total_bytes = 1000;
  make_zip(tmp / "many.zip", {file("1"), file("2"), file("3"), file("4"), file("5")});
  EXPECT_EQ(refusal_kind([&] { extract_zip(tmp / "many.zip", out / "a", limits); }), "limit");
  make_zip(tmp / "big.zip", {file("a.bin", std::string(600, 'a')), file("b.bin", std::string(600, 'b'))});
  EXPECT_EQ(refusal_kind([&] { extract_zip(tmp / "big.zip", out / "b", limits); }), "limit");
  make_lying_zip(tmp / "liar.zip");
  EXPECT_EQ(refusal_kind([&] { extract_zip(tmp / "liar.zip", out / "c", limits); }), "limit");

  make_zip(tmp / "evil.zip", {file("good.txt"), file("../evil")});
  EXPECT_EQ(refusal_kind([&] { extract_zip(tmp / "evil.zip", out / "d", limits); }), "input");
  write_bytes(tmp / "plain.txt", "hello");
  EXPECT_EQ(refusal_kind([&] { extract_zip(tmp / "plain.txt", out / "e", limits); }), "input");
  EXPECT_TRUE(test::list_files(out.path()).empty());
}

TEST(Zip, RefusalLeavesAnExistingDestinationUntouched) {
  TempDir tmp;
  const fs::path zip = tmp / "evil.zip";
  make_zip(zip, {file("good.txt"), file("../evil")});
  fs::create_directories(tmp / "dest");
  write_bytes(tmp / "dest" / "mine.txt", "mine");
  EXPECT_THAT(input_error([&] { extract_zip(zip, tmp / "dest"); }), HasSubstr("'..'"));
  EXPECT_EQ(test::list_files(tmp / "dest"), std::vector<std::string>{"mine.txt"});
}

TEST(Zip, CorruptDataRemovesEverythingWritten) {
  TempDir tmp;
  const fs::path zip = tmp / "crc.zip";
  make_zip(zip, {file("first.txt", "fine"), file("second.txt", std::string(5000, 'z'))}, /*deflate=*/false);
  std::string bytes = read_bytes(zip);
  const size_t data = bytes.find(std::string(100, 'z'));
  ASSERT_NE(data, std::string::npos);
  bytes[data + 50] = 'Y'; // stored data no longer matches its CRC-32
  write_bytes(zip, bytes);
  TempDir out;
  const std::string message = input_error([&] { extract_zip(zip, out / "dest"); });
  EXPECT_THAT(message, HasSubstr("corrupt"));
  EXPECT_THAT(message, HasSubstr("second.txt"));
  EXPECT_FALSE(fs::exists(out / "dest")) << "first.txt was left behind";
}

TEST(Zip, CorruptArchivesAreInputErrors) {
  TempDir tmp;
  const std::string real = read_bytes(shared_path("fixtures/geometry/dicom/series_a.zip"));
  write_bytes(tmp / "truncated.zip", real.substr(0, real.size() / 2));
  expect_refused(tmp / "truncated.zip", "zip");
  write_bytes(tmp / "garbage.zip", std::string("PK\x03\x04", 4) + std::string(300, '\x5a'));
  expect_refused(tmp / "garbage.zip", "not a readable zip archive");
  write_bytes(tmp / "plain.txt", "hello");
  expect_refused(tmp / "plain.txt", "not a zip archive");
}

TEST(Zip, RefusesAFileThatIsAlsoAFolder) {
  TempDir tmp;
  const fs::path zip = tmp / "clash.zip";
  make_zip(zip, {file("a"), file("a/b")});
  expect_refused(zip, "both a file and a folder");
}

} // namespace
} // namespace nervemap::io
