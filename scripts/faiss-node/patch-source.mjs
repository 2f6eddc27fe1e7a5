// Patches faiss-node 0.5.1's src/faiss.cc for Debian's FAISS 1.7.3 and adds typed-array methods.
// Usage: node patch-source.mjs <faiss-node dir>. Idempotent: a patched file is recognised and left alone.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = process.argv[2];
const file = join(dir, 'src', 'faiss.cc');
let src = readFileSync(file, 'utf8');
const MARK = '// semembed-patched v1';
if (src.includes(MARK)) process.exit(0);

function replaceOnce(from, to) {
  const at = src.indexOf(from);
  if (at < 0 || src.indexOf(from, at + 1) >= 0) {
    console.error(`patch-source: expected exactly one occurrence of ${JSON.stringify(from)} in ${file}`);
    process.exit(1);
  }
  src = src.slice(0, at) + to + src.slice(at + from.length);
}

// FAISS 1.7.3 declares idx_t inside faiss::Index only (faiss::idx_t came in 1.7.4).
replaceOnce('using idx_t = faiss::idx_t;', 'using idx_t = faiss::Index::idx_t;');
replaceOnce(
  '#include <faiss/impl/IDSelector.h>',
  '#include <faiss/impl/IDSelector.h>\n#include <faiss/AutoTune.h>\n#include <faiss/utils/distances.h>\n#include <algorithm>\n#include <vector>\n' +
    'extern "C" int sgemm_(const char *transa, const char *transb, int *m, int *n, int *k, const float *alpha,\n' +
    '                      const float *a, int *lda, const float *b, int *ldb, float *beta, float *c, int *ldc);\n' +
    'extern "C" int openblas_get_num_threads(void);\nextern "C" void openblas_set_num_threads(int);',
);
const ext = readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'semembed-ext.cc'), 'utf8');
replaceOnce(
  '  Napi::Value ntotal(const Napi::CallbackInfo &info)',
  ext + '  Napi::Value ntotal(const Napi::CallbackInfo &info)',
);
let registered = 0;
src = src.replace(/InstanceMethod\("search", &(\w+)::search\),/g, (m, cls) => {
  registered++;
  return (
    m +
    ['addFloat32', 'trainFloat32', 'searchFloat32', 'distanceRows', 'setParameter', 'metricType']
      .map((name) => `\n      InstanceMethod("${name}", &${cls}::${name}),`)
      .join('')
  );
});
if (registered !== 3) {
  console.error(`patch-source: expected 3 class registrations in ${file}, found ${registered}`);
  process.exit(1);
}
writeFileSync(file, `${MARK}\n${src}`);
