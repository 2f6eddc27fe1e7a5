/** Largest absolute difference relative to the largest reference magnitude (floor 1e-6). */
export function relErr(got: Float32Array, ref: Float32Array): number {
  let num = 0;
  let den = 1e-6;
  for (let i = 0; i < got.length; i++) {
    num = Math.max(num, Math.abs(got[i] - ref[i]));
    den = Math.max(den, Math.abs(ref[i]));
  }
  return num / den;
}
