// The checkpoint reader against the real nnU-Net checkpoints of the fixtures, and against damaged,
// hostile and foreign files (each must be a clear InputError, never a crash or code execution).
#include "fixtures.h"

#include <gtest/gtest.h>

using namespace nervemap;
using namespace nervemap::segment;
using namespace nervemap::segment::test;

namespace {

std::string plain_checkpoint() { return read_bytes(nnunet_fixture("plain3d/fold_0/checkpoint_final.pth")); }

//! A zip (stored entries) holding the given files, built with libzip.
std::string make_zip(const std::vector<std::pair<std::string, std::string>>& files) {
  nervemap::test::TempDir dir;
  const fs::path path = dir / "x.pth";
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  for (const auto& [name, bytes] : files) {
    zip_source_t* s = zip_source_buffer(z, bytes.data(), bytes.size(), 0);
    zip_file_add(z, name.c_str(), s, ZIP_FL_OVERWRITE);
  }
  zip_close(z);
  return read_bytes(path);
}

void expect_refused(const std::string& bytes, const std::string& needle) {
  try {
    detail::read_checkpoint_bytes(bytes, "bad.pth", true);
    ADD_FAILURE() << "accepted; expected an error containing '" << needle << "'";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

std::string pickle_with(const std::string& body) { return std::string("\x80\x02", 2) + body + "."; }

// Pickle building blocks (protocol 2), so that the hostile inputs below read as what they are.
std::string u(const std::string& text) { // BINUNICODE
  std::string out = "X";
  uint32_t n = uint32_t(text.size());
  for (int b = 0; b < 4; ++b)
    out += char((n >> (8 * b)) & 0xff);
  return out + text;
}
std::string k1(int v) { return std::string("K") + char(v); } // BININT1
std::string global(const std::string& module, const std::string& name) { return "c" + module + "\n" + name + "\n"; }
const std::string kMark = "(", kTuple = "t", kTuple1 = "\x85", kReduce = "R", kSetitems = "u", kSetitem = "s",
                  kEmptyDict = "}", kEmptyTuple = ")", kFalse = "\x89", kBinpersid = "Q";

//! {'trainer_name': 'x', 'init_args': {'configuration': 'c'}, 'network_weights': {'w': tensor}} with the
//! tensor _rebuild_tensor_v2(storage 'key 0', numel 4 float32, offset, size (3,), stride (1,)).
std::string one_tensor_pickle(int offset) {
  std::string storage = kMark + u("storage") + global("torch", "FloatStorage") + u("0") + u("cpu") + k1(4) +
                        kTuple + kBinpersid;
  std::string tensor = global("torch._utils", "_rebuild_tensor_v2") + kMark + storage + k1(offset) + k1(3) +
                       kTuple1 + k1(1) + kTuple1 + kFalse + global("collections", "OrderedDict") +
                       kEmptyTuple + kReduce + kTuple + kReduce;
  return pickle_with(kEmptyDict + kMark + u("trainer_name") + u("x") + u("init_args") + kEmptyDict +
                     u("configuration") + u("c") + kSetitem + u("network_weights") + kEmptyDict + u("w") +
                     tensor + kSetitem + kSetitems);
}

} // namespace

TEST(Checkpoint, ReadsThePlainFixtureMetadataAndWeights) {
  auto ck = detail::read_checkpoint(nnunet_fixture("plain3d/fold_0/checkpoint_final.pth"), true);
  EXPECT_EQ(ck.trainer_name, "nnUNetTrainer");
  EXPECT_EQ(ck.configuration, "3d_fullres");
  ASSERT_TRUE(ck.mirroring_axes);
  EXPECT_EQ(*ck.mirroring_axes, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(ck.weight_refs.size(), 188u); // README: 188 entries including the duplicates
  size_t params = 0;
  for (const auto& [key, t] : ck.weights) {
    EXPECT_FALSE(detail::is_duplicate_weight_key(key)) << key;
    params += t.values.size();
  }
  EXPECT_EQ(params, 351388u); // README: 351,388 parameters
  const auto& w = ck.weights.at("encoder.stages.0.0.convs.0.conv.weight");
  EXPECT_EQ(w.shape, (std::vector<int64_t>{8, 1, 3, 3, 3}));
  for (float v : w.values)
    EXPECT_TRUE(std::isfinite(v));
}

TEST(Checkpoint, ReadsTheResEncFixture) {
  auto ck = detail::read_checkpoint(nnunet_fixture("resenc3d/fold_0/checkpoint_final.pth"), true);
  EXPECT_EQ(ck.weight_refs.size(), 536u);
  size_t params = 0;
  for (const auto& [key, t] : ck.weights)
    params += t.values.size();
  EXPECT_EQ(params, 405172u);
  EXPECT_EQ(ck.weights.at("encoder.stages.1.blocks.0.skip.1.conv.weight").shape,
            (std::vector<int64_t>{8, 4, 1, 1, 1}));
  EXPECT_EQ(ck.weights.count("decoder.encoder.stem.convs.0.conv.weight"), 0u);
}

TEST(Checkpoint, MetadataOnlyReadsNoWeights) {
  auto ck = detail::read_checkpoint(nnunet_fixture("plain3d/fold_0/checkpoint_final.pth"), false);
  EXPECT_TRUE(ck.weights.empty());
  EXPECT_EQ(ck.configuration, "3d_fullres");
}

TEST(Checkpoint, DuplicateKeys) {
  EXPECT_TRUE(detail::is_duplicate_weight_key("encoder.stages.0.0.convs.0.all_modules.0.weight"));
  EXPECT_TRUE(detail::is_duplicate_weight_key("decoder.encoder.stages.0.0.convs.0.conv.weight"));
  EXPECT_FALSE(detail::is_duplicate_weight_key("decoder.stages.0.convs.0.conv.weight"));
}

TEST(Checkpoint, RefusesMissingAndForeignFiles) {
  EXPECT_THROW(detail::read_checkpoint("/nonexistent/checkpoint_final.pth", true), InputError);
  expect_refused("this is not a zip file at all", "not a readable PyTorch checkpoint");
  expect_refused(make_zip({{"foo/readme.txt", "hello"}}), "no single <name>/data.pkl");
}

TEST(Checkpoint, RefusesTruncatedFiles) {
  const std::string good = plain_checkpoint();
  for (size_t keep : {size_t(100), good.size() / 3, good.size() / 2, good.size() - 30})
    EXPECT_THROW(detail::read_checkpoint_bytes(good.substr(0, keep), "cut.pth", true), InputError) << keep;
}

TEST(Checkpoint, RefusesCodeExecutionGlobals) {
  // os.system('echo pwned') — the classic malicious pickle.
  const std::string evil = pickle_with(global("os", "system") + u("echo pwned") + kTuple1 + kReduce);
  expect_refused(make_zip({{"a/data.pkl", evil}}), "'os.system'");
  const std::string builtins = pickle_with(global("__builtin__", "eval") + u("1") + kTuple1 + kReduce);
  expect_refused(make_zip({{"a/data.pkl", builtins}}), "__builtin__.eval");
}

TEST(Checkpoint, RefusesUnknownOpcodesAndMalformedPickles) {
  expect_refused(make_zip({{"a/data.pkl", pickle_with("I42\n")}}), "opcode 0x49");
  expect_refused(make_zip({{"a/data.pkl", std::string("\x80\x02}", 3)}}), "truncated");
  expect_refused(make_zip({{"a/data.pkl", pickle_with(kSetitem)}}), "empty stack");
  expect_refused(make_zip({{"a/data.pkl", pickle_with("h\x07")}}), "memo entry 7");
  expect_refused(make_zip({{"a/data.pkl", pickle_with("X\xff\xff\xff\x7f")}}), "bytes at offset");
  expect_refused(make_zip({{"a/data.pkl", pickle_with("]")}}), "does not hold a dict");
  expect_refused(make_zip({{"a/data.pkl", pickle_with(kEmptyDict)}}), "'trainer_name' is missing");
}

TEST(Checkpoint, SurvivesSelfReferenceAndDeepNesting) {
  // A list appended to itself, and a 200 000-deep chain of nested lists: no recursion, no crash.
  std::string body = std::string("]q") + '\0' + "h" + '\0' + "a0";
  body += std::string(200000, ']') + std::string(199999, 'a');
  expect_refused(make_zip({{"a/data.pkl", pickle_with(body)}}), "does not hold a dict");
}

TEST(Checkpoint, RefusesTensorsOutsideTheirStorage) {
  expect_refused(make_zip({{"a/data.pkl", one_tensor_pickle(2)}}), "beyond its storage");
  // Inside its storage, but the storage entry is missing from the archive, or of the wrong size.
  expect_refused(make_zip({{"a/data.pkl", one_tensor_pickle(1)}}), "lacks a/data/0");
  expect_refused(make_zip({{"a/data.pkl", one_tensor_pickle(1)}, {"a/data/0", std::string(12, '\0')}}),
                 "holds 12 bytes but the checkpoint declares 16");
  auto ck = detail::read_checkpoint_bytes(
      make_zip({{"a/data.pkl", one_tensor_pickle(1)}, {"a/data/0", std::string(16, '\0')}}), "ok.pth", true);
  EXPECT_EQ(ck.weights.at("w").shape, (std::vector<int64_t>{3}));
  EXPECT_FALSE(ck.mirroring_axes);
}
