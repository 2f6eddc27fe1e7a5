// 4-float vectors (SSE on x86-64, NEON on arm64) through GCC's vector extensions, for loops GCC would not vectorise
// on its own: selects on a float comparison stayed scalar and branchy (10x slower on random signs), even with
// restrict pointers. Same float operations as the scalar code, so results are unchanged.
#pragma once
#include <cstdint>
#include <cstring>

namespace semembed {

typedef float f4 __attribute__((vector_size(16)));
typedef int32_t i4 __attribute__((vector_size(16)));

inline f4 load4(const float* p) {
  f4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store4(float* p, f4 v) { std::memcpy(p, &v, sizeof v); }
// m ? a : b per lane (m from a comparison: all bits set or none)
inline f4 select4(i4 m, f4 a, f4 b) {
  return reinterpret_cast<f4>((reinterpret_cast<i4>(a) & m) | (reinterpret_cast<i4>(b) & ~m));
}
// m ? a : +0
inline f4 mask4(i4 m, f4 a) { return reinterpret_cast<f4>(reinterpret_cast<i4>(a) & m); }
inline f4 splat4(float v) { return f4{v, v, v, v}; }

}  // namespace semembed
