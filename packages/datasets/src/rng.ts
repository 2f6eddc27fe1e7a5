// The seeded generator lives in @semembed/formats (one copy for the toolchain); re-exported for callers of datasets.
export { Rng } from '@semembed/formats/rng';
