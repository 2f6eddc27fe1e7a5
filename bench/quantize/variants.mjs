// The int8 files the quiet benchmarks compare, beside a float model, and a site (makeSite) that serves them all.
// Usage: node bench/quantize/variants.mjs MODEL.onnx OUT_DIR [--calibration fashion|synthetic]
// Writes OUT_DIR/{fp32,int8,int8-cpu}.onnx (+ sidecars): int8 = the default (web form, 7-bit weights), int8-cpu =
// `--target cpu`; and OUT_DIR/site (fp32 the page's default, the others as ?variant=). Prints the paths.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { datasetSamples, quantizeFile } from '@semembed/quantize';
import { makeSite } from '@semembed/runtime-web/site';
import { syntheticCalibration } from './calibration.mjs';

const [model, out] = process.argv.slice(2);
const arg = (k, d) => (process.argv.includes(`--${k}`) ? process.argv[process.argv.indexOf(`--${k}`) + 1] : d);
if (!model || !out)
  throw new Error('usage: node bench/quantize/variants.mjs MODEL.onnx OUT_DIR [--calibration fashion|synthetic]');
mkdirSync(out, { recursive: true });
const sidecar = model.replace(/\.onnx$/, '.json');
copyFileSync(model, join(out, 'fp32.onnx'));
const sc = JSON.parse(readFileSync(sidecar, 'utf8'));
// Same bytes, so the sidecar's hash still holds; only the file name it points at changes.
writeFileSync(join(out, 'fp32.json'), JSON.stringify({ ...sc, model: 'fp32.onnx' }, null, 1));

const calib =
  arg('calibration', 'fashion') === 'synthetic'
    ? syntheticCalibration(sc, 64)
    : await datasetSamples('FashionMNIST', undefined, sidecar, 'train', 256);
const files = { int8: {}, 'int8-cpu': { target: 'cpu' } };
for (const [name, o] of Object.entries(files)) {
  await quantizeFile(model, join(out, `${name}.onnx`), { mode: 'int8', calibration: [calib], force: true, ...o });
}
makeSite({
  model: join(out, 'fp32.json'),
  out: join(out, 'site'),
  variants: Object.fromEntries(Object.keys(files).map((n) => [n, join(out, `${n}.json`)])),
});
console.log(JSON.stringify({ out, site: join(out, 'site'), variants: ['fp32', ...Object.keys(files)] }));
