import { describe, expect, it } from 'vitest';
import { layerHandler, overrideLayerHandler, supportedLayers } from '../src/layers/index.js';

describe('layer registry', () => {
  it('holds every family, each class once', () => {
    const all = supportedLayers();
    for (const cls of [
      'Conv2D',
      'MaxPooling2D',
      'Dense',
      'BatchNormalization',
      'ReLU',
      'Add',
      'Flatten',
      'Lambda',
      'InputLayer',
    ]) {
      expect(all).toContain(cls);
    }
    expect(new Set(all).size).toBe(all.length);
    expect(layerHandler('Conv3D')).toBeUndefined();
  });

  it('overrides one handler until restored, and refuses to override an unknown class', () => {
    const original = layerHandler('Dense');
    const fake = () => [];
    const restore = overrideLayerHandler('Dense', fake);
    expect(layerHandler('Dense')).toBe(fake);
    restore();
    expect(layerHandler('Dense')).toBe(original);
    expect(() => overrideLayerHandler('Densee', fake)).toThrow(/no handler for Densee/);
  });
});
