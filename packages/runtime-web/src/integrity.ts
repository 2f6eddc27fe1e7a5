// The sidecar records the ONNX file's sha256 (`source.onnx_sha256`, written by the converter and by
// `semembed quantize`); a pair from two different conversions is refused before a session is made, as runtime-node
// does, so outputs are never labelled with another model's classes.
import type { Sidecar } from './sidecar.js';
import { ModelLoadError } from './errors.js';

/** What the check found: the hash matched, the sidecar records none, or the page cannot hash (no crypto.subtle). */
export type Integrity = { checked: true; sha256: string } | { checked: false; reason: string };

const hex = (buf: ArrayBuffer): string =>
  Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
const fileName = (url: string): string => url.split('?')[0].split('/').filter(Boolean).at(-1) ?? url;

/**
 * Checks `bytes` against the sidecar's recorded hash; throws a ModelLoadError naming both files on a mismatch or a
 * malformed hash. crypto.subtle exists only in secure contexts (https, localhost): elsewhere the check cannot run
 * and the result says so (the page still works, as it does without a service worker there).
 */
export async function checkModelHash(
  bytes: Uint8Array,
  sidecar: Sidecar,
  sidecarSource: string,
  modelSource: string,
): Promise<Integrity> {
  const want = sidecar.source?.onnx_sha256;
  if (want === undefined) return { checked: false, reason: 'the sidecar records no source.onnx_sha256' };
  if (typeof want !== 'string' || !/^[0-9a-f]{64}$/.test(want)) {
    throw new ModelLoadError(`${sidecarSource}: source.onnx_sha256 must be 64 hex digits, got ${JSON.stringify(want)}`);
  }
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return { checked: false, reason: 'crypto.subtle is missing (not a secure context): hash not checked' };
  // digest() refuses views of a SharedArrayBuffer (possible in a cross-origin isolated page): copy those.
  const view = bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
  const got = hex(await subtle.digest('SHA-256', view));
  if (got !== want) {
    throw new ModelLoadError(
      `${modelSource} does not match its sidecar ${fileName(sidecarSource)} (sha256 ${got.slice(0, 12)}…, the ` +
        `sidecar records ${want.slice(0, 12)}…): the two files come from different conversions; convert (or ` +
        'quantize) the model again',
    );
  }
  return { checked: true, sha256: got };
}
