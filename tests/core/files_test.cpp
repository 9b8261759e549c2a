#include "core/core.h"
#include "support/test_support.h"

#include <fstream>
#include <gtest/gtest.h>

using namespace nervemap;
namespace fs = std::filesystem;

TEST(AtomicWrite, RenamesOnlyWhenComplete) {
  test::TempDir dir;
  fs::path target = dir / "report.json";
  write_file_atomically(target, [](const fs::path& tmp) { std::ofstream(tmp) << "{}"; });
  EXPECT_TRUE(fs::exists(target));
  EXPECT_THROW(write_file_atomically(dir / "b.json",
                                     [](const fs::path& tmp) {
                                       std::ofstream(tmp) << "partial";
                                       throw InputError("disk full");
                                     }),
               InputError);
  EXPECT_EQ(test::list_files(dir.path()), std::vector<std::string>{"report.json"});
}

TEST(OutputTransaction, RollsBackCreatedFolder) {
  test::TempDir dir;
  fs::path out = dir / "new" / "deeper";
  {
    OutputTransaction tx(out);
    tx.prepare();
    std::ofstream(out / "x.txt") << "x";
    tx.created(out / "x.txt");
  }
  EXPECT_FALSE(fs::exists(dir / "new"));
  {
    OutputTransaction tx(out);
    tx.prepare();
    tx.commit();
  }
  EXPECT_TRUE(fs::is_directory(out));
}

TEST(OutputTransaction, KeepsExistingFolderAndForeignFiles) {
  test::TempDir dir;
  std::ofstream(dir / "keep.txt") << "user file";
  {
    OutputTransaction tx(dir.path());
    tx.prepare();
    std::ofstream(dir / "ours.txt") << "x";
    tx.created(dir / "ours.txt");
  }
  EXPECT_EQ(test::list_files(dir.path()), std::vector<std::string>{"keep.txt"});
}

TEST(ScratchDir, PrivateFreshAndRemoved) {
  fs::path where;
  {
    ScratchDir a("test"), b("test");
    where = a.path();
    EXPECT_NE(a.path(), b.path());
    EXPECT_TRUE(fs::is_directory(a.path()));
    EXPECT_EQ(a.path().parent_path(), fs::temp_directory_path());
    EXPECT_EQ(a.path().filename().string().rfind("nervemap-test-", 0), 0u) << a.path();
    // Patient data goes in here: only the owner may enter (mkdtemp's 0700).
    EXPECT_EQ(fs::status(a.path()).permissions() & fs::perms::all, fs::perms::owner_all);
    std::ofstream(a.path() / "x") << "x";
  }
  EXPECT_FALSE(fs::exists(where));
}
