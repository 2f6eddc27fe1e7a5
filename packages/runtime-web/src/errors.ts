import { UserError } from '@semembed/formats/errors';

export { isUserError } from '@semembed/formats/errors';

/** Errors a user can act on (bad model URL, bad sidecar, undecodable image); the page shows their message as is. */
export class RuntimeWebError extends UserError {
  constructor(message: string, code = 'RUNTIME_WEB') {
    super(message, { code });
  }
}

export class ModelLoadError extends RuntimeWebError {
  constructor(message: string) {
    super(message, 'MODEL_LOAD');
  }
}
export class ImageError extends RuntimeWebError {
  constructor(message: string) {
    super(message, 'IMAGE_INVALID');
  }
}
export class GalleryError extends RuntimeWebError {
  constructor(message: string) {
    super(message, 'GALLERY_INVALID');
  }
}

/** First line of an error message: ORT and browsers like to append stack-ish detail. */
export function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0].trim();
}
