/** Errors a user can act on (bad model URL, bad sidecar, undecodable image); the page shows their message as is. */
export class RuntimeWebError extends Error {
  readonly userFacing = true;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class ModelLoadError extends RuntimeWebError {}
export class ImageError extends RuntimeWebError {}
export class GalleryError extends RuntimeWebError {}

export function isUserFacing(err: unknown): err is Error & { userFacing: true } {
  return err instanceof Error && (err as { userFacing?: unknown }).userFacing === true;
}

/** First line of an error message: ORT and browsers like to append stack-ish detail. */
export function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0].trim();
}
