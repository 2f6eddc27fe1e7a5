// Argument helpers shared by the addons' N-API entry points (conv.cc, elementwise.cc, matmul.cc, pool.cc, ...).
#pragma once
#include <node_api.h>

#include <cstddef>
#include <initializer_list>

namespace semembed {

inline napi_value fail(napi_env env, const char* msg) {
  napi_throw_error(env, nullptr, msg);
  return nullptr;
}

// True when v is a Float32Array; its data and length (in floats) are stored.
inline bool floatArray(napi_env env, napi_value v, float** data, size_t* length) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  void* ptr;
  if (napi_get_typedarray_info(env, v, &type, length, &ptr, &buffer, &offset) != napi_ok) return false;
  if (type != napi_float32_array) return false;
  *data = static_cast<float*>(ptr);
  return true;
}

// The call's arguments into argv; true when there are exactly `count` of them.
inline bool callArgs(napi_env env, napi_callback_info info, size_t count, napi_value* argv) {
  size_t argc = count;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  return argc == count;
}

// True when argv[0..n) are all Float32Arrays; their data and lengths go to p[i] and len[i].
inline bool floatArrays(napi_env env, const napi_value* argv, size_t n, float** p, size_t* len) {
  for (size_t i = 0; i < n; i++) {
    if (!floatArray(env, argv[i], &p[i], &len[i])) return false;
  }
  return true;
}

// True when the call has exactly n (<= 16) arguments, all Float32Arrays; their data and lengths go to p[i], len[i].
inline bool floatArgs(napi_env env, napi_callback_info info, size_t n, float** p, size_t* len) {
  napi_value argv[16];
  return n <= 16 && callArgs(env, info, n, argv) && floatArrays(env, argv, n, p, len);
}

// exports[name] = a JavaScript function calling cb.
inline void exportFunction(napi_env env, napi_value exports, const char* name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, nullptr, &fn);
  napi_set_named_property(env, exports, name, fn);
}

struct Export {
  const char* name;
  napi_callback cb;
};

// exportFunction for each entry of a table.
inline void exportFunctions(napi_env env, napi_value exports, std::initializer_list<Export> table) {
  for (const Export& e : table) exportFunction(env, exports, e.name, e.cb);
}

// Adds reduceRows, channelOp, reluGrad and relu (elementwise.cc) to the addon's exports.
void registerElementwise(napi_env env, napi_value exports);
// Adds matmul (matmul.cc).
void registerMatMul(napi_env env, napi_value exports);
// Adds maxPoolGrad and maxPool (pool.cc).
void registerPool(napi_env env, napi_value exports);
// Adds bnForward and bnBackward (batchnorm.cc).
void registerBatchNorm(napi_env env, napi_value exports);
// Adds sgdStep (sgd.cc).
void registerSgd(napi_env env, napi_value exports);

}  // namespace semembed
