import type { Argv } from 'yargs';
import { defineCommand, type ArgsOf } from '../command.js';
import { FlagError } from '../options.js';

const builder = (y: Argv) =>
  y
    .option('model', { type: 'string', demandOption: true, describe: 'model.json (sidecar) of the converted model, or its folder' })
    .option('gallery', { type: 'string', describe: 'features .npy from `semembed embed` (ids/labels from <features>.ids.txt / .labels.txt)' })
    .option('out', { type: 'string', demandOption: true, describe: 'Folder to write the site to' })
    .option('thumbs_idx', { type: 'string', describe: 'IDX images (e.g. Fashion-MNIST t10k-images-idx3-ubyte.gz) whose first rows are the gallery thumbnails' })
    .option('images_list', { type: 'string', describe: 'Text file, one image path per gallery row, shown as thumbnails' })
    .option('dtype', { choices: ['float32', 'float16'] as const, default: 'float32' as const, describe: 'Gallery values (float16: half the bytes, ~1e-3 error)' })
    .conflicts('thumbs_idx', 'images_list')
    .check((a) => {
      if ((a.thumbs_idx || a.images_list) && !a.gallery) throw new FlagError('--thumbs_idx / --images_list need --gallery');
      return true;
    })
    .example('$0 web-site --model runs/fashion/model.json --gallery runs/fashion/test.npy --thumbs_idx /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz --out site', 'then: semembed serve --model runs/fashion/model.json --gallery runs/fashion/test.npy --web_root site');

/** Static site for the browser search page (@semembed/runtime-web): page + model + gallery file. */
export const webSiteCommand = defineCommand({
  command: 'web-site',
  describe: 'Assemble the browser search page with a model and a gallery (serve it with `semembed serve --web_root`)',
  builder,
  handler: run,
});

async function run(a: ArgsOf<typeof builder>): Promise<void> {
  const { makeSite } = await import('@semembed/runtime-web/site');
  const r = makeSite({ model: a.model, gallery: a.gallery, out: a.out, thumbsIdx: a.thumbs_idx, imagesList: a.images_list, dtype: a.dtype });
  console.log(`site in ${r.out}${r.gallery ? ` (gallery ${r.gallery.rows} x ${r.gallery.dim}, ${r.gallery.bytes} bytes)` : ''}`);
}
