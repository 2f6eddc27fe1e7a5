import type { Argv } from 'yargs';
import type { Command } from '../index.js';
import { UsageError } from '../errors.js';

interface Args {
  model: string;
  gallery?: string;
  out: string;
  thumbs_idx?: string;
  images_list?: string;
  dtype: string;
}

/** Static site for the browser search page (@semembed/runtime-web): page + model + gallery file. */
export const webSiteCommand: Command = {
  register: (cli: Argv) =>
    cli.command(
      'web-site',
      'Assemble the browser search page with a model and a gallery (serve it with `semembed serve --web_root`)',
      (y) =>
        y
          .option('model', { type: 'string', demandOption: true, describe: 'model.json (sidecar) of the converted model, or its folder' })
          .option('gallery', { type: 'string', describe: 'features .npy from `semembed embed` (ids/labels from <features>.ids.txt / .labels.txt)' })
          .option('out', { type: 'string', demandOption: true, describe: 'Folder to write the site to' })
          .option('thumbs_idx', { alias: 'thumbs-idx', type: 'string', describe: 'IDX images (e.g. Fashion-MNIST t10k-images-idx3-ubyte.gz) whose first rows are the gallery thumbnails' })
          .option('images_list', { alias: 'images-list', type: 'string', describe: 'Text file, one image path per gallery row, shown as thumbnails' })
          .option('dtype', { type: 'string', default: 'float32', choices: ['float32', 'float16'], describe: 'Gallery values (float16: half the bytes, ~1e-3 error)' })
          .example('$0 web-site --model runs/fashion/model.json --gallery runs/fashion/test.npy --thumbs_idx /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz --out site', 'then: semembed serve --model runs/fashion/model.json --gallery runs/fashion/test.npy --web_root site'),
      (argv) => run(argv as unknown as Args),
    ),
};

async function run(a: Args): Promise<void> {
  if (a.thumbs_idx && a.images_list) throw new UsageError('give --thumbs_idx or --images_list, not both');
  if ((a.thumbs_idx || a.images_list) && !a.gallery) throw new UsageError('--thumbs_idx / --images_list need --gallery');
  const { makeSite } = await import('@semembed/runtime-web/site');
  const r = makeSite({ model: a.model, gallery: a.gallery, out: a.out, thumbsIdx: a.thumbs_idx, imagesList: a.images_list, dtype: a.dtype as 'float32' | 'float16' });
  console.log(`site in ${r.out}${r.gallery ? ` (gallery ${r.gallery.rows} x ${r.gallery.dim}, ${r.gallery.bytes} bytes)` : ''}`);
}
