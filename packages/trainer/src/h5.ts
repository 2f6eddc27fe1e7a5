// Keras-2 HDF5 files are read and written by @semembed/formats (one module for the trainer and the converter);
// the trainer's names for its types are kept.
export {
  readKerasH5,
  writeKerasH5,
  type KerasH5Layer as H5Layer,
  type KerasH5Weight as H5Weight,
  type KerasH5Content,
  type KerasH5File,
} from '@semembed/formats/keras-h5';
