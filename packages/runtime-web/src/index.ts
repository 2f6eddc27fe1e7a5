export { RuntimeWebError, ModelLoadError, ImageError, GalleryError, isUserError, firstLine } from './errors.js';
export { validateSidecar } from './sidecar.js';
export type { Sidecar, SidecarOutput, SidecarClass, Layout, OutputKind } from './sidecar.js';
export { preprocessImage, toModelPixels, rgbaToTensor, grayOf, DEFAULT_MAX_IMAGE_PIXELS } from './preprocess.js';
export type { ImageInput, PreprocessOptions } from './preprocess.js';
export { WebModel, loadModel, DEFAULT_EP_ORDER, ort } from './model.js';
export type {
  WebExecutionProvider,
  ProviderAttempt,
  ProviderReport,
  LoadModelOptions,
  OutputTensor,
  ClassScore,
  ImageResult,
  Timing,
  ModelBytes,
} from './model.js';
export { encodeGallery, parseGallery, loadGallery, WebGallery, GALLERY_MAGIC, GALLERY_FORMAT } from './gallery.js';
export type { GalleryHeader, GalleryMatch, GalleryDtype, EncodeGalleryOptions } from './gallery.js';
export { topK, l2normalize, softmaxInPlace, toHalf, fromHalf, halfToFloat32, float32ToHalf } from '@semembed/model';
export { checkModelHash, type Integrity } from './integrity.js';
