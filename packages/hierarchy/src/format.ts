/**
 * Formats a float the way Python's repr() does (shortest round-trip digits; scientific notation below 1e-4 or
 * from 1e16, with a two-digit exponent; integral values keep '.0'), so printed numbers read like the reference's.
 */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, expStr] = x.toExponential().split('e');
  const exp = Number(expStr);
  if (exp < -4 || exp >= 16) {
    const m = mant.includes('.') ? mant : mant;
    return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  let s: string;
  if (exp >= 0) {
    s =
      digits.length <= exp + 1
        ? digits + '0'.repeat(exp + 1 - digits.length) + '.0'
        : `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  } else {
    s = `0.${'0'.repeat(-exp - 1)}${digits}`;
  }
  return neg ? `-${s}` : s;
}
