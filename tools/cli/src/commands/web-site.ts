import type { Argv } from 'yargs';
import type { ArgsOf } from '../command.js';
import { UsageError } from '../errors.js';
import { FlagError } from '../options.js';
import { checkOutputs, withForceOption } from '../write-safety.js';

export const command = 'web-site';
export const describe =
  'Assemble the browser search page with a model and a gallery (serve it with `semembed serve --web_root`)';

export const builder = (y: Argv) =>
  withForceOption(y)
    .option('model', {
      type: 'string',
      demandOption: true,
      describe: 'model.json (sidecar) of the converted model, or its folder',
    })
    .option('gallery', {
      type: 'string',
      describe: 'features .npy from `semembed embed` (ids/labels from <features>.ids.txt / .labels.txt)',
    })
    .option('out', { type: 'string', demandOption: true, describe: 'Folder to write the site to' })
    .option('variant', {
      type: 'string',
      array: true,
      describe:
        'More precisions of the model, NAME=model.json from semembed quantize (int8=m.int8.json); the page picks one',
    })
    .option('thumbs_idx', {
      type: 'string',
      describe: 'IDX images (e.g. Fashion-MNIST t10k-images-idx3-ubyte.gz) whose first rows are the gallery thumbnails',
    })
    .option('images_list', {
      type: 'string',
      describe: 'Text file, one image path per gallery row, shown as thumbnails',
    })
    .option('dtype', {
      choices: ['float32', 'float16'] as const,
      default: 'float32' as const,
      describe: 'Gallery values (float16: half the bytes, ~1e-3 error)',
    })
    .conflicts('thumbs_idx', 'images_list')
    .check((a) => {
      if ((a.thumbs_idx || a.images_list) && !a.gallery)
        throw new FlagError('--thumbs_idx / --images_list need --gallery');
      return true;
    })
    .example(
      '$0 web-site --model runs/fashion/model.json --gallery runs/fashion/test.npy ' +
        '--thumbs_idx /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz --out site',
      'then: semembed serve --model runs/fashion/model.json --gallery runs/fashion/test.npy --web_root site',
    );

/** As `serve` refuses them: features with NaN / Inf, or of another width than the model's embedding. */
async function checkGallery(gallery: string, model: string): Promise<void> {
  const [{ readNpy }, { existsSync, readFileSync, statSync }, { join }] = await Promise.all([
    import('@semembed/formats'),
    import('node:fs'),
    import('node:path'),
  ]);
  if (!existsSync(gallery)) return; // makeSite names the missing file
  const arr = readNpy(gallery);
  const dim = arr.shape[1];
  const bad = Array.prototype.findIndex.call(arr.data, (v: number) => !Number.isFinite(Number(v)));
  if (bad >= 0)
    throw new UsageError(
      `--gallery ${gallery}: row ${Math.floor(bad / dim)} has a non-finite value (${arr.data[bad]}); re-extract the features`,
    );
  const sidecarFile =
    existsSync(model) && statSync(model).isDirectory() ? join(model, 'model.json') : model.replace(/\.onnx$/, '.json');
  if (!existsSync(sidecarFile)) return;
  let outputs: { kind?: string; dim?: number | null }[];
  try {
    outputs = JSON.parse(readFileSync(sidecarFile, 'utf8')).outputs ?? [];
  } catch {
    return; // makeSite reports a broken sidecar
  }
  const emb = outputs.find((o) => o.kind === 'embedding') ?? outputs.find((o) => o.kind === 'features');
  if (emb?.dim && arr.shape.length === 2 && dim !== emb.dim) {
    throw new UsageError(`--gallery ${gallery} has ${dim}-dimensional features, the model's embedding ${emb.dim}`);
  }
}

/** Static site for the browser search page (@semembed/runtime-web): page + model + gallery file. */
export async function handler(a: ArgsOf<typeof builder>): Promise<void> {
  checkOutputs(
    [{ path: a.out, flag: '--out', folder: true }],
    [
      { path: a.model, flag: '--model' },
      { path: a.gallery, flag: '--gallery' },
    ],
    a.force,
  );
  if (a.gallery) await checkGallery(a.gallery, a.model);
  const { makeSite } = await import('@semembed/runtime-web/site');
  const variants = Object.fromEntries(
    (a.variant ?? []).map((v) => {
      const eq = v.indexOf('=');
      if (eq <= 0 || eq === v.length - 1)
        throw new FlagError(`--variant ${v}: expected NAME=model.json, e.g. int8=m.int8.json`);
      return [v.slice(0, eq), v.slice(eq + 1)];
    }),
  );
  const r = makeSite({
    model: a.model,
    gallery: a.gallery,
    out: a.out,
    thumbsIdx: a.thumbs_idx,
    imagesList: a.images_list,
    dtype: a.dtype,
    variants,
  });
  console.log(
    `site in ${r.out}${r.gallery ? ` (gallery ${r.gallery.rows} x ${r.gallery.dim}, ${r.gallery.bytes} bytes)` : ''}`,
  );
}
