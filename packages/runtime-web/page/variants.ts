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

/** What WebGPU offers here: an adapter at all (navigator.gpu alone is not enough), and float16 shaders. */
export async function webGpuSupport(): Promise<{ adapter: boolean; f16: boolean }> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<{ features: Set<string> } | null> } }).gpu;
  if (!gpu) return { adapter: false, f16: false };
  try {
    const a = await gpu.requestAdapter();
    return { adapter: !!a, f16: !!a?.features.has('shader-f16') };
  } catch {
    return { adapter: false, f16: false };
  }
}

export async function pickVariant(
  variants: Record<string, string>,
  o: { override?: string; ep?: string; fallbackUrl: string },
): Promise<VariantChoice> {
  const names = Object.keys(variants);
  const eps = o.ep
    ? (o.ep
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean) as WebExecutionProvider[])
    : undefined;
  const epsFor = (name: string): WebExecutionProvider[] =>
    eps ?? (GPU_ORDER.includes(name) ? ['webgpu', 'wasm'] : ['wasm']);
  if (o.override && o.override !== 'auto') {
    if (!variants[o.override]) {
      const has = names.join(', ') || 'none';
      const err = new Error(`variant "${o.override}" is not on this site (it has: ${has})`);
      throw Object.assign(err, { userFacing: true });
    }
    return { name: o.override, url: variants[o.override], eps: epsFor(o.override), why: 'chosen by the user' };
  }
  if (names.length === 0) {
    return { name: 'default', url: o.fallbackUrl, eps: eps ?? ['webgpu', 'wasm'], why: 'the only model' };
  }
  // ?ep= says which provider; otherwise the device does (an adapter is there or not). fp16 needs shader-f16
  // (without it onnxruntime-web refuses or miscomputes the float16 kernels): fp32 then.
  const support = await webGpuSupport();
  const gpu = eps ? eps[0] === 'webgpu' : support.adapter;
  const order = gpu ? (support.f16 ? GPU_ORDER : ['fp32']).concat(WASM_ORDER) : WASM_ORDER;
  const name = order.find((n) => variants[n]) ?? names[0];
  const f16 = support.f16 ? '' : ', no shader-f16';
  const why = gpu
    ? eps
      ? `provider webgpu asked for${f16}`
      : `WebGPU adapter found${f16}`
    : eps
      ? 'provider wasm asked for'
      : 'no WebGPU adapter';
  return { name, url: variants[name], eps: eps ?? (gpu ? ['webgpu', 'wasm'] : ['wasm']), why };
}
