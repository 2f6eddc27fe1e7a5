// Which model variant the page runs: WebGPU -> fp16 (else fp32), wasm -> int8 (else dynamic, else fp32).
// config.json's `variants` maps a precision name to its sidecar URL (makeSite writes it); ?variant= or the
// variant menu overrides the choice, ?ep= the provider.

import type { WebExecutionProvider } from '../src/index.js';

export interface VariantChoice {
  name: string;
  url: string;
  eps: WebExecutionProvider[];
  /** Why this one, in words for the status line. */
  why: string;
}

const GPU_ORDER = ['fp16', 'fp32'];
const WASM_ORDER = ['int8', 'dynamic', 'fp32', 'fp16'];

/** Whether a WebGPU adapter is there (navigator.gpu alone is not enough: it may have no adapter). */
export async function hasWebGpu(): Promise<boolean> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return false;
  try {
    return !!(await gpu.requestAdapter());
  } catch {
    return false;
  }
}

export async function pickVariant(
  variants: Record<string, string>,
  o: { override?: string; ep?: string; fallbackUrl: string },
): Promise<VariantChoice> {
  const names = Object.keys(variants);
  const eps = o.ep ? (o.ep.split(',').map((s) => s.trim()).filter(Boolean) as WebExecutionProvider[]) : undefined;
  const epsFor = (name: string): WebExecutionProvider[] => eps ?? (GPU_ORDER.includes(name) ? ['webgpu', 'wasm'] : ['wasm']);
  if (o.override && o.override !== 'auto') {
    if (!variants[o.override]) {
      throw Object.assign(new Error(`variant "${o.override}" is not on this site (it has: ${names.join(', ') || 'none'})`), { userFacing: true });
    }
    return { name: o.override, url: variants[o.override], eps: epsFor(o.override), why: 'chosen by the user' };
  }
  if (names.length === 0) return { name: 'default', url: o.fallbackUrl, eps: eps ?? ['webgpu', 'wasm'], why: 'the only model' };
  // ?ep= says which provider; otherwise the device does (an adapter is there or not).
  const gpu = eps ? eps[0] === 'webgpu' : await hasWebGpu();
  const order = gpu ? [...GPU_ORDER, ...WASM_ORDER] : WASM_ORDER;
  const name = order.find((n) => variants[n]) ?? names[0];
  const why = gpu ? (eps ? 'provider webgpu asked for' : 'WebGPU adapter found') : eps ? 'provider wasm asked for' : 'no WebGPU adapter';
  return { name, url: variants[name], eps: eps ?? (gpu ? ['webgpu', 'wasm'] : ['wasm']), why };
}
