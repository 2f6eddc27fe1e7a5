export { RuntimeNodeError, ModelLoadError, ImageError, TensorShapeError } from './errors.js';
export { isUserError } from '@semembed/formats/errors';
export { readSidecar, validateSidecar, resolveModelFiles } from './sidecar.js';
export type { Sidecar, SidecarOutput, SidecarClass, Layout, OutputKind } from './sidecar.js';
export {
  createSession,
  parseEpList,
  prepareCuda,
  cudaPathSetup,
  ortBinDir,
  describeReport,
  DEFAULT_EP_ORDER,
} from './providers.js';
export type { ExecutionProvider, SessionOptions, ProviderReport, ProviderAttempt } from './providers.js';
export {
  preprocessImage,
  pixelsToTensor,
  sniffFormat,
  ACCEPTED_FORMATS,
  DEFAULT_MAX_IMAGE_PIXELS,
} from './preprocess.js';
export type { PreprocessOptions } from './preprocess.js';
export { Model, loadModel } from './model.js';
export { l2normalize, topK } from '@semembed/model';
export type { LoadModelOptions, OutputTensor, ClassScore, ImageResult } from './model.js';
export { embedImages, listImages, IMAGE_EXTENSIONS } from './embed.js';
export type { EmbedImagesOptions, EmbedImagesResult, ImageEntry } from './embed.js';
export { DynamicBatcher, TimeoutError } from './batcher.js';
export type { BatcherOptions } from './batcher.js';
export { ExactGallery, FaissGallery, loadGallery, sidePath } from './gallery.js';
export type { Gallery, GalleryFiles, GalleryMatch } from './gallery.js';
export { createServer, parseInferRequest, parseBinaryInferRequest } from './server/index.js';
export type { ServerOptions, ModelSpec, SemembedServer } from './server/index.js';
export { LocalSession, WorkerSession } from './session.js';
export type { SessionLike, RawOutput } from './session.js';
