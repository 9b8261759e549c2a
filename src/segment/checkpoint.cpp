// checkpoint_final.pth without Python: the zip container (libzip) and a strict pickle subset.
//
// nnU-Net's nnUNetTrainer.save_checkpoint writes torch.save({...}) — a zip with <name>/data.pkl
// (pickle protocol 2) and one raw little-endian storage per tensor under <name>/data/<key>. libtorch
// 1.13 cannot read it (OrderedDict, SETITEM, numpy scalars, torch.device: research §4.2), so this file
// runs the pickle on its own little machine:
//  - only the opcodes torch.save emits (plus their protocol 3/4 siblings) are known; anything else is
//    refused with the opcode named;
//  - GLOBAL may only name the callables such checkpoints contain (OrderedDict, _rebuild_tensor_v2,
//    torch.*Storage, torch.device, numpy scalar/dtype/_reconstruct, _codecs.encode); REDUCE "calls"
//    them by building plain data — no code runs;
//  - objects live in an arena indexed by number, so cycles (a list appended to itself) and deep nesting
//    cost nothing and destroying them never recurses; every count and length is bounded.
// Of the result only network_weights, trainer_name, init_args['configuration'] and
// inference_allowed_mirroring_axes are used (nnunetv2/inference/predict_from_raw_data.py,
// nnUNetPredictor.initialize_from_trained_model_folder).
#include "segment/internal.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <fmt/format.h>
#include <limits>
#include <unordered_map>
#include <zip.h>

namespace nervemap::segment::detail {

namespace {

// ----------------------------------------------------------------------------------------------
// The pickle machine

enum class Kind : uint8_t {
  none,
  boolean,
  integer,
  real,
  str,
  bytes,
  tuple,
  list,
  dict,
  global, // a callable from the allowlist (s = "module.name")
  storage,
  tensor,
  opaque, // result of an allowed call whose value we do not need (torch.device, numpy scalar, ...)
};

enum class Callable : uint8_t {
  none,
  ordered_dict,
  rebuild_tensor_v2,
  rebuild_tensor,
  rebuild_parameter,
  storage_type,
  torch_device,
  numpy_scalar,
  numpy_dtype,
  numpy_reconstruct,
  numpy_ndarray,
  codecs_encode,
};

struct Obj {
  Kind kind = Kind::none;
  Callable callable = Callable::none;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::vector<uint32_t> items; // tuple/list elements; dict: key, value, key, value, ...
  uint32_t ref = 0;            // index into storages / tensors
};

struct StorageInfo {
  std::string key, dtype;
  int64_t numel = 0;
};

struct TensorInfo {
  uint32_t storage = 0;
  int64_t offset = 0;
  std::vector<int64_t> shape, stride;
};

constexpr uint32_t kMark = std::numeric_limits<uint32_t>::max();

struct AllowedGlobal {
  const char* module;
  const char* name;
  Callable callable;
  const char* dtype; // for storage types
};

// Everything nnU-Net v2 checkpoints reference (pickletools on real and fixture checkpoints; numpy ≥ 2
// renames numpy.core to numpy._core). Logging may hold numpy arrays in some versions: _reconstruct.
constexpr AllowedGlobal kAllowedGlobals[] = {
    {"collections", "OrderedDict", Callable::ordered_dict, nullptr},
    {"torch._utils", "_rebuild_tensor_v2", Callable::rebuild_tensor_v2, nullptr},
    {"torch._utils", "_rebuild_tensor", Callable::rebuild_tensor, nullptr},
    {"torch._utils", "_rebuild_parameter", Callable::rebuild_parameter, nullptr},
    {"torch", "FloatStorage", Callable::storage_type, "float32"},
    {"torch", "HalfStorage", Callable::storage_type, "float16"},
    {"torch", "BFloat16Storage", Callable::storage_type, "bfloat16"},
    {"torch", "DoubleStorage", Callable::storage_type, "float64"},
    {"torch", "LongStorage", Callable::storage_type, "int64"},
    {"torch", "IntStorage", Callable::storage_type, "int32"},
    {"torch", "ShortStorage", Callable::storage_type, "int16"},
    {"torch", "CharStorage", Callable::storage_type, "int8"},
    {"torch", "ByteStorage", Callable::storage_type, "uint8"},
    {"torch", "BoolStorage", Callable::storage_type, "bool"},
    {"torch", "device", Callable::torch_device, nullptr},
    {"numpy.core.multiarray", "scalar", Callable::numpy_scalar, nullptr},
    {"numpy._core.multiarray", "scalar", Callable::numpy_scalar, nullptr},
    {"numpy.core.multiarray", "_reconstruct", Callable::numpy_reconstruct, nullptr},
    {"numpy._core.multiarray", "_reconstruct", Callable::numpy_reconstruct, nullptr},
    {"numpy", "ndarray", Callable::numpy_ndarray, nullptr},
    {"numpy", "dtype", Callable::numpy_dtype, nullptr},
    {"_codecs", "encode", Callable::codecs_encode, nullptr},
};

int64_t dtype_size(const std::string& dtype) {
  if (dtype == "float64" || dtype == "int64")
    return 8;
  if (dtype == "float32" || dtype == "int32")
    return 4;
  if (dtype == "float16" || dtype == "bfloat16" || dtype == "int16")
    return 2;
  return 1;
}

class PickleError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

class Unpickler {
public:
  Unpickler(std::string_view data, const CheckpointLimits& limits) : data_(data), limits_(limits) {}

  uint32_t run();

  const Obj& obj(uint32_t id) const { return arena_[id]; }
  const std::vector<StorageInfo>& storages() const { return storages_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }

  //! Value of a string key in a dict object (last occurrence wins, as in Python), or nullopt.
  std::optional<uint32_t> lookup(uint32_t dict, std::string_view key) const {
    const Obj& d = arena_[dict];
    std::optional<uint32_t> found;
    for (size_t n = 0; n + 1 < d.items.size(); n += 2) {
      const Obj& k = arena_[d.items[n]];
      if (k.kind == Kind::str && k.s == key)
        found = d.items[n + 1];
    }
    return found;
  }

private:
  // -- reading the byte stream
  uint8_t byte() {
    if (pos_ >= data_.size())
      throw PickleError("data.pkl ends in the middle of an instruction (truncated file)");
    return uint8_t(data_[pos_++]);
  }
  std::string_view take(uint64_t n) {
    if (n > data_.size() - pos_)
      throw PickleError(fmt::format("data.pkl declares {} bytes at offset {} but only {} remain", n, pos_,
                                    data_.size() - pos_));
    std::string_view v = data_.substr(pos_, size_t(n));
    pos_ += size_t(n);
    return v;
  }
  uint64_t uint_le(int bytes) {
    uint64_t v = 0;
    for (int b = 0; b < bytes; ++b)
      v |= uint64_t(byte()) << (8 * b);
    return v;
  }
  std::string_view line() {
    size_t end = data_.find('\n', pos_);
    if (end == std::string_view::npos || end - pos_ > 256)
      throw PickleError("malformed GLOBAL instruction in data.pkl");
    std::string_view v = data_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return v;
  }

  // -- objects
  uint32_t make(Obj o) {
    if (arena_.size() >= limits_.max_objects)
      throw PickleError(fmt::format("data.pkl creates more than {} objects", limits_.max_objects));
    arena_.push_back(std::move(o));
    return uint32_t(arena_.size() - 1);
  }
  uint32_t make_kind(Kind k) {
    Obj o;
    o.kind = k;
    return make(std::move(o));
  }
  void push(uint32_t id) {
    if (stack_.size() >= limits_.max_stack)
      throw PickleError("data.pkl nests deeper than the reader allows");
    stack_.push_back(id);
  }
  uint32_t pop() {
    if (stack_.empty() || stack_.back() == kMark)
      throw PickleError("data.pkl pops an empty stack (malformed pickle)");
    uint32_t v = stack_.back();
    stack_.pop_back();
    return v;
  }
  uint32_t& top() {
    if (stack_.empty() || stack_.back() == kMark)
      throw PickleError("data.pkl uses an empty stack (malformed pickle)");
    return stack_.back();
  }
  //! Items above the topmost MARK (removed together with the mark).
  std::vector<uint32_t> pop_to_mark() {
    auto it = std::find(stack_.rbegin(), stack_.rend(), kMark);
    if (it == stack_.rend())
      throw PickleError("data.pkl closes a group that was never opened (missing MARK)");
    size_t mark = size_t(stack_.rend() - it) - 1;
    std::vector<uint32_t> items(stack_.begin() + std::ptrdiff_t(mark) + 1, stack_.end());
    stack_.resize(mark);
    return items;
  }
  uint32_t make_tuple(std::vector<uint32_t> items) {
    Obj o;
    o.kind = Kind::tuple;
    o.items = std::move(items);
    return make(std::move(o));
  }
  void memo_put(uint64_t index) {
    if (memo_.size() >= limits_.max_memo && !memo_.count(index))
      throw PickleError("data.pkl memoizes more objects than the reader allows");
    memo_[index] = top();
  }
  uint32_t memo_get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end())
      throw PickleError(fmt::format("data.pkl refers to memo entry {} that was never stored", index));
    return it->second;
  }
  Obj& container(uint32_t id, Kind kind, const char* op) {
    Obj& o = arena_[id];
    if (o.kind != kind)
      throw PickleError(fmt::format("data.pkl applies {} to something that is not a {}", op,
                                    kind == Kind::dict ? "dict" : "list"));
    return o;
  }

  void global(std::string_view module, std::string_view name);
  uint32_t reduce(uint32_t callable, uint32_t args);
  uint32_t persistent_load(uint32_t pid);
  std::vector<int64_t> int_tuple(uint32_t id, const char* what) const;
  int64_t as_int(uint32_t id, const char* what) const {
    const Obj& o = arena_[id];
    if (o.kind != Kind::integer)
      throw PickleError(fmt::format("data.pkl: {} is not an integer", what));
    return o.i;
  }

  std::string_view data_;
  const CheckpointLimits& limits_;
  size_t pos_ = 0;
  std::vector<Obj> arena_;
  std::vector<uint32_t> stack_;
  std::unordered_map<uint64_t, uint32_t> memo_;
  std::vector<StorageInfo> storages_;
  std::vector<TensorInfo> tensors_;
};

void Unpickler::global(std::string_view module, std::string_view name) {
  for (const auto& g : kAllowedGlobals)
    if (module == g.module && name == g.name) {
      Obj o;
      o.kind = Kind::global;
      o.callable = g.callable;
      o.s = g.dtype ? g.dtype : fmt::format("{}.{}", module, name);
      push(make(std::move(o)));
      return;
    }
  throw PickleError(fmt::format("data.pkl references the Python object '{}.{}', which nnU-Net checkpoints do "
                                "not contain; refusing to load it",
                                module,
                                name));
}

std::vector<int64_t> Unpickler::int_tuple(uint32_t id, const char* what) const {
  const Obj& o = arena_[id];
  if (o.kind != Kind::tuple && o.kind != Kind::list)
    throw PickleError(fmt::format("data.pkl: tensor {} is not a tuple", what));
  std::vector<int64_t> v;
  for (uint32_t item : o.items)
    v.push_back(as_int(item, what));
  return v;
}

uint32_t Unpickler::persistent_load(uint32_t pid) {
  // torch.serialization: ('storage', <storage type>, key, location, numel)
  const Obj& t = arena_[pid];
  if (t.kind != Kind::tuple || t.items.size() != 5 || arena_[t.items[0]].kind != Kind::str ||
      arena_[t.items[0]].s != "storage")
    throw PickleError("data.pkl has a persistent id that is not a torch storage");
  const Obj& type = arena_[t.items[1]];
  if (type.kind != Kind::global || type.callable != Callable::storage_type)
    throw PickleError("data.pkl has a storage of unknown type");
  const Obj& key = arena_[t.items[2]];
  if (key.kind != Kind::str || key.s.empty() || key.s.size() > 64 ||
      key.s.find_first_of("/\\.") != std::string::npos)
    throw PickleError("data.pkl has a storage with an invalid key");
  int64_t numel = as_int(t.items[4], "storage size");
  if (numel < 0 || uint64_t(numel) > limits_.max_tensor_bytes / uint64_t(dtype_size(type.s)))
    throw PickleError(fmt::format("data.pkl declares a storage of {} elements (limit {} bytes)", numel,
                                  limits_.max_tensor_bytes));
  storages_.push_back({key.s, type.s, numel});
  Obj o;
  o.kind = Kind::storage;
  o.ref = uint32_t(storages_.size() - 1);
  return make(std::move(o));
}

uint32_t Unpickler::reduce(uint32_t callable_id, uint32_t args_id) {
  const Obj callable = arena_[callable_id]; // copy: make() may reallocate the arena
  const Obj args = arena_[args_id];
  if (callable.kind != Kind::global)
    throw PickleError("data.pkl calls something that is not an allowed function");
  if (args.kind != Kind::tuple)
    throw PickleError(fmt::format("data.pkl calls {} without an argument tuple", callable.s));
  auto opaque = [&](const std::string& what) {
    Obj o;
    o.kind = Kind::opaque;
    o.s = what;
    return make(std::move(o));
  };
  switch (callable.callable) {
  case Callable::ordered_dict:
    if (!args.items.empty())
      throw PickleError("data.pkl builds an OrderedDict from arguments (unsupported form)");
    return make_kind(Kind::dict);
  case Callable::rebuild_tensor_v2:
  case Callable::rebuild_tensor: {
    // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    const size_t min_args = callable.callable == Callable::rebuild_tensor_v2 ? 6 : 4;
    if (args.items.size() < min_args || args.items.size() > 7)
      throw PickleError("data.pkl rebuilds a tensor with the wrong number of arguments");
    const Obj& st = arena_[args.items[0]];
    if (st.kind != Kind::storage)
      throw PickleError("data.pkl rebuilds a tensor from something that is not a storage");
    TensorInfo t;
    t.storage = st.ref;
    t.offset = as_int(args.items[1], "storage offset");
    t.shape = int_tuple(args.items[2], "size");
    t.stride = int_tuple(args.items[3], "stride");
    if (t.shape.size() != t.stride.size() || t.shape.size() > limits_.max_tensor_rank)
      throw PickleError("data.pkl has a tensor whose size and stride do not match");
    // Every element must lie inside the storage.
    const StorageInfo& s = storages_[t.storage];
    int64_t last = t.offset;
    bool empty = false;
    if (t.offset < 0)
      throw PickleError("data.pkl has a tensor with a negative offset");
    for (size_t d = 0; d < t.shape.size(); ++d) {
      if (t.shape[d] < 0 || t.stride[d] < 0 || t.shape[d] > (int64_t(1) << 40) || t.stride[d] > (int64_t(1) << 40))
        throw PickleError("data.pkl has a tensor with an invalid size or stride");
      if (t.shape[d] == 0)
        empty = true;
      else
        last += (t.shape[d] - 1) * t.stride[d];
    }
    if (!empty && last >= s.numel)
      throw PickleError("data.pkl has a tensor that reaches beyond its storage");
    tensors_.push_back(std::move(t));
    Obj o;
    o.kind = Kind::tensor;
    o.ref = uint32_t(tensors_.size() - 1);
    return make(std::move(o));
  }
  case Callable::rebuild_parameter:
    if (args.items.size() != 3 || arena_[args.items[0]].kind != Kind::tensor)
      throw PickleError("data.pkl rebuilds a parameter in an unsupported form");
    return args.items[0];
  case Callable::torch_device:
    return opaque("torch.device");
  case Callable::numpy_scalar:
    return opaque("numpy scalar");
  case Callable::numpy_dtype:
    return opaque("numpy dtype");
  case Callable::numpy_reconstruct:
    return opaque("numpy array");
  case Callable::codecs_encode: {
    // _codecs.encode(text, 'latin1'): numpy scalars carry their raw bytes this way.
    if (args.items.empty() || arena_[args.items[0]].kind != Kind::str)
      throw PickleError("data.pkl calls _codecs.encode in an unsupported form");
    Obj o;
    o.kind = Kind::bytes;
    o.s = arena_[args.items[0]].s; // UTF-8 of code points < 256; only ever passed on to numpy scalars
    return make(std::move(o));
  }
  case Callable::storage_type:
  case Callable::numpy_ndarray:
  case Callable::none:
    break;
  }
  throw PickleError(fmt::format("data.pkl calls {} in a way nnU-Net checkpoints never do", callable.s));
}

uint32_t Unpickler::run() {
  for (;;) {
    const size_t at = pos_;
    const uint8_t op = byte();
    switch (op) {
    case 0x80: // PROTO
      if (byte() > 5)
        throw PickleError("data.pkl uses an unknown pickle protocol");
      break;
    case 0x95: // FRAME (protocol 4): only a length hint
      take(8);
      break;
    case '.': { // STOP
      uint32_t root = pop();
      return root;
    }
    case '(': // MARK
      if (stack_.size() >= limits_.max_stack)
        throw PickleError("data.pkl nests deeper than the reader allows");
      stack_.push_back(kMark);
      break;
    case '0': // POP
      if (!stack_.empty() && stack_.back() == kMark)
        stack_.pop_back();
      else
        pop();
      break;
    case '1': // POP_MARK
      pop_to_mark();
      break;
    case '2': // DUP
      push(top());
      break;
    case 'N':
      push(make_kind(Kind::none));
      break;
    case 0x88: // NEWTRUE
    case 0x89: // NEWFALSE
    {
      Obj o;
      o.kind = Kind::boolean;
      o.i = op == 0x88;
      push(make(std::move(o)));
      break;
    }
    case 'J': // BININT
    case 'K': // BININT1
    case 'M': // BININT2
    {
      Obj o;
      o.kind = Kind::integer;
      if (op == 'J')
        o.i = int32_t(uint32_t(uint_le(4)));
      else
        o.i = int64_t(uint_le(op == 'K' ? 1 : 2));
      push(make(std::move(o)));
      break;
    }
    case 0x8a: // LONG1
    {
      int n = byte();
      if (n > 8)
        throw PickleError("data.pkl holds an integer larger than 64 bits");
      uint64_t v = n ? uint_le(n) : 0;
      if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) // sign-extend
        v |= ~uint64_t(0) << (8 * n);
      Obj o;
      o.kind = Kind::integer;
      o.i = int64_t(v);
      push(make(std::move(o)));
      break;
    }
    case 'G': // BINFLOAT, big-endian
    {
      uint64_t bits = 0;
      for (int b = 0; b < 8; ++b)
        bits = (bits << 8) | byte();
      Obj o;
      o.kind = Kind::real;
      o.f = std::bit_cast<double>(bits);
      push(make(std::move(o)));
      break;
    }
    case 'X':    // BINUNICODE
    case 0x8c:   // SHORT_BINUNICODE
    case 0x8d:   // BINUNICODE8
    case 'T':    // BINSTRING (Python 2 str)
    case 'U':    // SHORT_BINSTRING
    case 'B':    // BINBYTES
    case 'C':    // SHORT_BINBYTES
    case 0x8e: { // BINBYTES8
      uint64_t n = (op == 0x8c || op == 'U' || op == 'C') ? uint_le(1)
                   : (op == 0x8d || op == 0x8e)           ? uint_le(8)
                                                          : uint_le(4);
      Obj o;
      o.kind = (op == 'B' || op == 'C' || op == 0x8e) ? Kind::bytes : Kind::str;
      o.s = std::string(take(n));
      push(make(std::move(o)));
      break;
    }
    case ')':
      push(make_kind(Kind::tuple));
      break;
    case ']':
      push(make_kind(Kind::list));
      break;
    case '}':
      push(make_kind(Kind::dict));
      break;
    case 't': // TUPLE
      push(make_tuple(pop_to_mark()));
      break;
    case 0x85: // TUPLE1
    case 0x86: // TUPLE2
    case 0x87: // TUPLE3
    {
      size_t n = size_t(op - 0x84);
      std::vector<uint32_t> items(n);
      for (size_t k = n; k-- > 0;)
        items[k] = pop();
      push(make_tuple(std::move(items)));
      break;
    }
    case 'l': // LIST
    {
      Obj o;
      o.kind = Kind::list;
      o.items = pop_to_mark();
      push(make(std::move(o)));
      break;
    }
    case 'd': // DICT
    {
      auto items = pop_to_mark();
      if (items.size() % 2)
        throw PickleError("data.pkl builds a dict from an odd number of items");
      Obj o;
      o.kind = Kind::dict;
      o.items = std::move(items);
      push(make(std::move(o)));
      break;
    }
    case 'a': // APPEND
    {
      uint32_t v = pop();
      container(top(), Kind::list, "APPEND").items.push_back(v);
      break;
    }
    case 'e': // APPENDS
    {
      auto items = pop_to_mark();
      Obj& l = container(top(), Kind::list, "APPENDS");
      l.items.insert(l.items.end(), items.begin(), items.end());
      break;
    }
    case 's': // SETITEM
    {
      uint32_t v = pop();
      uint32_t k = pop();
      Obj& d = container(top(), Kind::dict, "SETITEM");
      d.items.push_back(k);
      d.items.push_back(v);
      break;
    }
    case 'u': // SETITEMS
    {
      auto items = pop_to_mark();
      if (items.size() % 2)
        throw PickleError("data.pkl sets dict items from an odd number of values");
      Obj& d = container(top(), Kind::dict, "SETITEMS");
      d.items.insert(d.items.end(), items.begin(), items.end());
      break;
    }
    case 'q': // BINPUT
      memo_put(byte());
      break;
    case 'r': // LONG_BINPUT
      memo_put(uint_le(4));
      break;
    case 0x94: // MEMOIZE
      memo_put(memo_.size());
      break;
    case 'h': // BINGET
      push(memo_get(byte()));
      break;
    case 'j': // LONG_BINGET
      push(memo_get(uint_le(4)));
      break;
    case 'c': // GLOBAL
    {
      std::string module(line());
      std::string name(line());
      global(module, name);
      break;
    }
    case 0x93: // STACK_GLOBAL
    {
      uint32_t name = pop();
      uint32_t module = pop();
      if (arena_[name].kind != Kind::str || arena_[module].kind != Kind::str)
        throw PickleError("data.pkl names a global with something that is not a string");
      global(arena_[module].s, arena_[name].s);
      break;
    }
    case 'R': // REDUCE
    {
      uint32_t args = pop();
      uint32_t callable = pop();
      push(reduce(callable, args));
      break;
    }
    case 'b': // BUILD: set the state of the object below
    {
      pop(); // the state
      const Obj& target = arena_[top()];
      // OrderedDict state (torch's _metadata), numpy dtype/array state: not needed.
      if (target.kind != Kind::dict && target.kind != Kind::opaque)
        throw PickleError("data.pkl sets the state of an object nnU-Net checkpoints never restore");
      break;
    }
    case 'Q': // BINPERSID
    {
      uint32_t pid = pop();
      push(persistent_load(pid));
      break;
    }
    default:
      throw PickleError(fmt::format("data.pkl uses pickle opcode 0x{:02x} at byte {}, which nnU-Net checkpoints "
                                    "never contain",
                                    op,
                                    at));
    }
  }
}

// ----------------------------------------------------------------------------------------------
// The zip container

class Archive {
public:
  Archive(zip_t* z, std::string name) : zip_(z), name_(std::move(name)) {}
  ~Archive() {
    if (zip_)
      zip_discard(zip_);
  }
  Archive(const Archive&) = delete;
  Archive& operator=(const Archive&) = delete;

  //! The folder prefix of data.pkl ("checkpoint_final/" or "archive/").
  std::string find_prefix() const {
    std::string prefix;
    zip_int64_t n = zip_get_num_entries(zip_, 0);
    int found = 0;
    for (zip_int64_t e = 0; e < n; ++e) {
      const char* name = zip_get_name(zip_, zip_uint64_t(e), ZIP_FL_ENC_RAW);
      if (!name)
        continue;
      std::string_view v(name);
      if (v.ends_with("/data.pkl") && std::count(v.begin(), v.end(), '/') == 1) {
        prefix = std::string(v.substr(0, v.size() - 8));
        ++found;
      }
    }
    if (found != 1)
      throw InputError(fmt::format("{}: not a PyTorch checkpoint (no single <name>/data.pkl in the archive); "
                                   "pass the checkpoint_final.pth written by nnU-Net v2",
                                   name_));
    return prefix;
  }

  bool has(const std::string& entry) const { return zip_name_locate(zip_, entry.c_str(), 0) >= 0; }

  //! Read a whole entry, refusing entries larger than `limit` bytes.
  std::string read(const std::string& entry, uint64_t limit, uint64_t expected_size = UINT64_MAX) const {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat(zip_, entry.c_str(), 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
      throw InputError(fmt::format("{}: the checkpoint lacks {} (incomplete or damaged file)", name_, entry));
    if (st.size > limit)
      throw InputError(fmt::format("{}: {} is {} bytes, more than the {} this reader accepts", name_, entry,
                                   st.size, limit));
    if (expected_size != UINT64_MAX && st.size != expected_size)
      throw InputError(fmt::format("{}: {} holds {} bytes but the checkpoint declares {} (damaged file)", name_,
                                   entry, st.size, expected_size));
    zip_file_t* f = zip_fopen(zip_, entry.c_str(), 0);
    if (!f)
      throw InputError(fmt::format("{}: cannot open {} in the checkpoint: {}", name_, entry, zip_strerror(zip_)));
    std::string bytes(size_t(st.size), '\0');
    zip_int64_t got = bytes.empty() ? 0 : zip_fread(f, bytes.data(), st.size);
    zip_fclose(f);
    if (got < 0 || uint64_t(got) != st.size)
      throw InputError(fmt::format("{}: {} is truncated or corrupt in the checkpoint", name_, entry));
    return bytes;
  }

private:
  zip_t* zip_;
  std::string name_;
};

void convert_to_float(const std::string& bytes, const std::string& dtype, std::vector<float>& out) {
  const size_t n = bytes.size() / size_t(dtype_size(dtype));
  out.resize(n);
  const char* p = bytes.data();
  if (dtype == "float32") {
    std::memcpy(out.data(), p, n * 4);
  } else if (dtype == "float16") {
    for (size_t k = 0; k < n; ++k) {
      uint16_t h;
      std::memcpy(&h, p + 2 * k, 2);
      out[k] = half_to_float(h);
    }
  } else if (dtype == "bfloat16") {
    for (size_t k = 0; k < n; ++k) {
      uint16_t h;
      std::memcpy(&h, p + 2 * k, 2);
      out[k] = std::bit_cast<float>(uint32_t(h) << 16);
    }
  } else if (dtype == "float64") {
    for (size_t k = 0; k < n; ++k) {
      double d;
      std::memcpy(&d, p + 8 * k, 8);
      out[k] = float(d);
    }
  } else {
    throw InputError("network weight of non-floating type " + dtype);
  }
}

Checkpoint read_archive(zip_t* z, const std::string& name, bool load_weights, const CheckpointLimits& limits) {
  Archive archive(z, name);
  const std::string prefix = archive.find_prefix();
  if (archive.has(prefix + "byteorder")) {
    std::string order = archive.read(prefix + "byteorder", 16);
    if (order != "little")
      throw InputError(fmt::format("{}: the checkpoint was written on a big-endian machine ({}); not supported",
                                   name, order));
  }
  const std::string pickle = archive.read(prefix + "data.pkl", limits.max_pickle_bytes);

  Unpickler vm(pickle, limits);
  uint32_t root = 0;
  try {
    root = vm.run();
  } catch (const PickleError& e) {
    throw InputError(fmt::format("{}: {}", name, e.what()));
  }
  auto fail = [&](const std::string& what) {
    throw InputError(fmt::format("{}: {} — this is not an nnU-Net v2 checkpoint (checkpoint_final.pth as "
                                 "written by nnUNetTrainer); pass the model folder nnU-Net trained",
                                 name, what));
  };
  if (vm.obj(root).kind != Kind::dict)
    fail("the pickle does not hold a dict");

  Checkpoint ck;
  ck.path = name;
  auto trainer = vm.lookup(root, "trainer_name");
  if (!trainer || vm.obj(*trainer).kind != Kind::str)
    fail("'trainer_name' is missing");
  ck.trainer_name = vm.obj(*trainer).s;
  auto init_args = vm.lookup(root, "init_args");
  if (!init_args || vm.obj(*init_args).kind != Kind::dict)
    fail("'init_args' is missing");
  auto configuration = vm.lookup(*init_args, "configuration");
  if (!configuration || vm.obj(*configuration).kind != Kind::str)
    fail("'init_args' has no 'configuration'");
  ck.configuration = vm.obj(*configuration).s;
  if (auto axes = vm.lookup(root, "inference_allowed_mirroring_axes")) {
    const Obj& a = vm.obj(*axes);
    if (a.kind == Kind::tuple || a.kind == Kind::list) {
      std::vector<int> v;
      for (uint32_t item : a.items) {
        const Obj& x = vm.obj(item);
        if (x.kind != Kind::integer || x.i < 0 || x.i > 2)
          fail("'inference_allowed_mirroring_axes' holds something other than axes 0–2");
        v.push_back(int(x.i));
      }
      ck.mirroring_axes = v;
    } else if (a.kind != Kind::none) {
      fail("'inference_allowed_mirroring_axes' is neither a tuple nor None");
    }
  }
  auto weights = vm.lookup(root, "network_weights");
  if (!weights || vm.obj(*weights).kind != Kind::dict)
    fail("'network_weights' is missing");
  const Obj& w = vm.obj(*weights);
  for (size_t n = 0; n + 1 < w.items.size(); n += 2) {
    const Obj& k = vm.obj(w.items[n]);
    const Obj& v = vm.obj(w.items[n + 1]);
    if (k.kind != Kind::str || v.kind != Kind::tensor)
      fail("'network_weights' holds an entry that is not a named tensor");
    const TensorInfo& t = vm.tensors()[v.ref];
    const StorageInfo& s = vm.storages()[t.storage];
    ck.weight_refs.push_back({k.s, TensorRef{s.key, s.dtype, s.numel, t.offset, t.shape, t.stride}});
  }
  if (ck.weight_refs.empty())
    fail("'network_weights' is empty");
  if (!load_weights)
    return ck;

  uint64_t total = 0;
  std::map<std::string, std::vector<float>> storage_cache; // storages shared by several tensors
  for (const auto& [key, ref] : ck.weight_refs) {
    if (is_duplicate_weight_key(key))
      continue;
    if (ref.dtype != "float32" && ref.dtype != "float16" && ref.dtype != "bfloat16" && ref.dtype != "float64")
      fail(fmt::format("weight '{}' is of type {}, not floating point", key, ref.dtype));
    auto cached = storage_cache.find(ref.storage_key);
    if (cached == storage_cache.end()) {
      const uint64_t bytes = uint64_t(ref.storage_numel) * uint64_t(dtype_size(ref.dtype));
      total += bytes;
      if (total > limits.max_total_weight_bytes)
        fail(fmt::format("the network weights exceed {} bytes", limits.max_total_weight_bytes));
      std::string raw = archive.read(prefix + "data/" + ref.storage_key, limits.max_tensor_bytes, bytes);
      std::vector<float> values;
      convert_to_float(raw, ref.dtype, values);
      cached = storage_cache.emplace(ref.storage_key, std::move(values)).first;
    }
    const std::vector<float>& storage = cached->second;
    WeightTensor t;
    t.shape = ref.shape;
    int64_t numel = 1;
    for (int64_t d : ref.shape)
      numel *= d;
    t.values.resize(size_t(numel));
    // Gather in C order from (offset, stride); contiguous tensors are a single copy.
    const size_t rank = ref.shape.size();
    std::vector<int64_t> index(rank, 0);
    for (int64_t flat = 0; flat < numel; ++flat) {
      int64_t src = ref.offset;
      for (size_t d = 0; d < rank; ++d)
        src += index[d] * ref.stride[d];
      t.values[size_t(flat)] = storage[size_t(src)];
      for (size_t d = rank; d-- > 0;) {
        if (++index[d] < ref.shape[d])
          break;
        index[d] = 0;
      }
    }
    ck.weights.emplace(key, std::move(t));
  }
  return ck;
}

} // namespace

bool is_duplicate_weight_key(std::string_view key) {
  return key.find(".all_modules.") != std::string_view::npos || key.starts_with("decoder.encoder.");
}

Checkpoint read_checkpoint(const fs::path& path, bool load_weights, const CheckpointLimits& limits) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw InputError(fmt::format("{}: checkpoint not found; an nnU-Net model folder holds "
                                 "fold_N/checkpoint_final.pth",
                                 path.string()));
  int code = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_RDONLY, &code);
  if (!z) {
    zip_error_t error;
    zip_error_init_with_code(&error, code);
    std::string why = zip_error_strerror(&error);
    zip_error_fini(&error);
    throw InputError(fmt::format("{}: not a readable PyTorch checkpoint ({}); the file is damaged or of another "
                                 "format — copy checkpoint_final.pth again from the trained model",
                                 path.string(),
                                 why));
  }
  return read_archive(z, path.string(), load_weights, limits);
}

Checkpoint read_checkpoint_bytes(std::string_view zip_bytes,
                                 const std::string& name,
                                 bool load_weights,
                                 const CheckpointLimits& limits) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* src = zip_source_buffer_create(zip_bytes.data(), zip_bytes.size(), 0, &error);
  if (!src) {
    zip_error_fini(&error);
    throw InputError(name + ": cannot read the checkpoint bytes");
  }
  zip_t* z = zip_open_from_source(src, ZIP_RDONLY, &error);
  if (!z) {
    std::string why = zip_error_strerror(&error);
    zip_source_free(src);
    zip_error_fini(&error);
    throw InputError(fmt::format("{}: not a readable PyTorch checkpoint ({})", name, why));
  }
  zip_error_fini(&error);
  return read_archive(z, name, load_weights, limits);
}

} // namespace nervemap::segment::detail
