// The sidecar contract (type, JSON Schema, validator, migration) is @semembed/model's, shared with runtime-node.
export { validateImageSidecar as validateSidecar } from '@semembed/model';
export type { ImageSidecar as Sidecar, SidecarOutput, SidecarClass, Layout, OutputKind } from '@semembed/model';
