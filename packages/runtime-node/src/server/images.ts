import type { FastifyRequest } from 'fastify';
import { ImageError, RuntimeNodeError } from '../errors.js';
import type { Limits } from './context.js';

export interface ImageRequest {
  model?: string;
  images: Buffer[];
  sources: string[];
  topK?: number;
}

export function parseTopK(v: unknown): number {
  const k = Number(v);
  if (!Number.isInteger(k) || k < 1 || k > 1000)
    throw new RuntimeNodeError(`top_k must be an integer 1..1000, got ${JSON.stringify(v)}`);
  return k;
}

/** Part of a multipart body, as @fastify/multipart yields them. */
interface Part {
  type: 'file' | 'field';
  fieldname: string;
  filename?: string;
  value?: unknown;
  toBuffer?: () => Promise<Buffer>;
}

/**
 * Reads a multipart body as a stream and stops at `bodyLimit` bytes with 413 (the request's `bodyLimit` does
 * not apply to multipart, which fastify leaves unparsed). A body that is not valid multipart is a 400.
 */
async function readMultipart(req: FastifyRequest, limits: Limits, out: ImageRequest): Promise<void> {
  const declared = Number(req.headers['content-length']);
  const tooLarge = (n: string) =>
    new ImageError(`request body is ${n} bytes, the limit is ${limits.bodyLimit} (--body_limit_mb)`, 413);
  if (Number.isFinite(declared) && declared > limits.bodyLimit) throw tooLarge(String(declared));
  let seen = 0;
  let rejectOver!: (e: Error) => void;
  const over = new Promise<never>((_, rej) => (rejectOver = rej));
  over.catch(() => {});
  const onData = (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > limits.bodyLimit) {
      req.raw.off('data', onData);
      req.raw.unpipe(); // busboy stops; the rest is discarded and the connection closed after the 413
      req.raw.resume();
      rejectOver(tooLarge(`more than ${limits.bodyLimit}`));
    }
  };
  req.raw.on('data', onData);
  try {
    const parts = req.parts()[Symbol.asyncIterator]() as AsyncIterator<Part>;
    for (;;) {
      const next = await Promise.race([parts.next(), over]);
      if (next.done) break;
      const part = next.value;
      if (part.type === 'file') {
        if (out.images.length >= limits.maxImages)
          throw new ImageError(`more than ${limits.maxImages} images in one request`, 413);
        const p = part.toBuffer!();
        p.catch(() => {});
        out.images.push(await Promise.race([p, over]));
        out.sources.push(part.filename ? `file ${part.filename}` : `field ${part.fieldname}`);
      } else if (part.fieldname === 'model') out.model = String(part.value);
      else if (part.fieldname === 'top_k') out.topK = parseTopK(String(part.value));
    }
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) throw err;
    // busboy's own errors ("Unexpected end of form", "Malformed part header") carry no status: the client's body.
    throw new ImageError(`malformed multipart/form-data body (${(err as Error).message})`);
  } finally {
    req.raw.off('data', onData);
  }
}

function readJsonImages(req: FastifyRequest, limits: Limits, out: ImageRequest): void {
  const body = req.body as Record<string, unknown> | null;
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new ImageError('JSON body must be an object with "image" or "images" (base64)');
  if (typeof body.model === 'string') out.model = body.model;
  if (body.top_k !== undefined) out.topK = parseTopK(body.top_k);
  const list = body.images !== undefined ? body.images : body.image !== undefined ? [body.image] : undefined;
  if (!Array.isArray(list))
    throw new ImageError('JSON body needs "image" (base64 string) or "images" (array of base64 strings)');
  if (list.length > limits.maxImages)
    throw new ImageError(`${list.length} images in one request, the limit is ${limits.maxImages}`, 413);
  list.forEach((s, i) => {
    if (typeof s !== 'string') throw new ImageError(`images[${i}] is not a base64 string`);
    const b64 = s.startsWith('data:') ? s.slice(s.indexOf(',') + 1) : s;
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(b64.replace(/\s+/g, '')))
      throw new ImageError(`images[${i}] is not valid base64`);
    const buf = Buffer.from(b64, 'base64');
    if (buf.length > limits.maxImageBytes)
      throw new ImageError(`images[${i}] is ${buf.length} bytes, the limit is ${limits.maxImageBytes}`, 413);
    out.images.push(buf);
    out.sources.push(`images[${i}]`);
  });
}

/** The images of a /v1 request: multipart parts, one raw image body, or JSON with base64 strings. */
export async function readImages(req: FastifyRequest, limits: Limits): Promise<ImageRequest> {
  const q = req.query as Record<string, string | undefined>;
  const out: ImageRequest = {
    model: q.model,
    images: [],
    sources: [],
    topK: q.top_k !== undefined ? parseTopK(q.top_k) : undefined,
  };
  const ct = (req.headers['content-type'] ?? '').toLowerCase();
  if (req.isMultipart()) await readMultipart(req, limits, out);
  else if (Buffer.isBuffer(req.body)) {
    out.images.push(req.body);
    out.sources.push('request body');
  } else if (ct.startsWith('application/json')) readJsonImages(req, limits, out);
  else {
    throw new ImageError(
      `send images as multipart/form-data, a raw image/jpeg|png|webp body, or JSON {"images": [base64...]} (got ${ct || 'no content type'})`,
      415,
    );
  }
  if (out.images.length === 0) throw new ImageError('no image in the request');
  for (const [i, img] of out.images.entries()) {
    if (img.length > limits.maxImageBytes)
      throw new ImageError(`${out.sources[i]} is ${img.length} bytes, the limit is ${limits.maxImageBytes}`, 413);
  }
  return out;
}
