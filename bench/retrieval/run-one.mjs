// One benchmark case in its own process (so peak RSS is this case's): prints one JSON line.
// node bench/retrieval/run-one.mjs <case> <n> [options]
//   eval-clip  : all n queries vs n gallery, P@1..250, AHP@250, AP (the reference's --clip_ahp 250 run)
//   eval-full  : the same with AHP over the whole ranking
// optional: engine (auto|faiss|exact), threads (default: the available cores); SEMEMBED_RETRIEVAL_NATIVE=0: JS kernel
//   hnsw       : HNSW32 index of n vectors: build time, search time and recall@10 / @250 vs exact for 1000 queries
import { mulberry32 } from '@semembed/formats';
import { readHierarchy } from '@semembed/hierarchy';
import { evaluateRetrieval, buildIndex, recallAtK, faissAvailable } from '@semembed/retrieval';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';

const [, , kind, nArg, engine = 'auto', threadsArg] = process.argv;
const threads = threadsArg ? Number(threadsArg) : undefined;
const n = Number(nArg);
const dim = 100,
  C = 100;
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

// CIFAR-100-like synthetic features: 100 classes, class centre + noise, float32, labels i % 100
export function synthetic(n, seed = 1) {
  const rnd = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
  const centres = Float32Array.from({ length: C * dim }, gauss);
  const labels = Int32Array.from({ length: n }, (_, i) => i % C);
  const x = new Float32Array(n * dim);
  for (let i = 0; i < n; i++)
    for (let t = 0; t < dim; t++) x[i * dim + t] = centres[labels[i] * dim + t] + 1.2 * gauss();
  return { x, labels };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { x, labels } = synthetic(n);
  if (kind === 'dump') {
    // features for the Python side-by-side
    writeFileSync(process.argv[4], Buffer.from(x.buffer));
    process.exit(0);
  }
  const h = readHierarchy(join(root, 'hierarchies', 'Cifar-Hierarchy', 'cifar.parent-child.txt'));
  const classes = h.leaves().slice(0, C);
  const sims = { WUP: h.similarityMatrix(classes, 'WUP'), LCS_HEIGHT: h.similarityMatrix(classes, 'LCS_HEIGHT') };
  const out = { kind, n, dim, faiss: faissAvailable() };
  const t0 = performance.now();
  if (kind === 'eval-clip' || kind === 'eval-full') {
    const ks = Array.from({ length: 250 }, (_, i) => i + 1);
    const res = evaluateRetrieval(x, dim, labels, sims, {
      ks,
      computeAhp: kind === 'eval-full' ? true : 250,
      computeAp: true,
      engine,
      threads,
    });
    Object.assign(out, {
      engine: res.engine,
      kernel: res.kernel,
      threads: res.threads,
      load1: (await import('node:os')).loadavg()[0],
      seconds: (performance.now() - t0) / 1000,
      mAP: res.mean.AP,
      mAHP: res.mean[kind === 'eval-full' ? 'AHP (LCS_HEIGHT)' : 'AHP@250 (LCS_HEIGHT)'],
    });
  } else if (kind === 'hnsw') {
    const { index } = buildIndex(x, dim, { factory: 'HNSW32' });
    const build = (performance.now() - t0) / 1000;
    index.setParameter('efSearch', 128);
    const nq = 1000,
      step = Math.floor(n / nq);
    const q = new Float32Array(nq * dim);
    for (let i = 0; i < nq; i++) q.set(x.subarray(i * step * dim, (i * step + 1) * dim), i * dim);
    const t1 = performance.now();
    index.searchFloat32(q, 250);
    const search = (performance.now() - t1) / 1000;
    const exact = buildIndex(x, dim, { factory: 'Flat' }).index;
    const t2 = performance.now();
    exact.searchFloat32(q, 250);
    const exactSearch = (performance.now() - t2) / 1000;
    Object.assign(out, {
      buildSeconds: build,
      searchSeconds1000q: search,
      exactSearchSeconds1000q: exactSearch,
      recall10: recallAtK(index, exact, q, 10),
      recall250: recallAtK(index, exact, q, 250),
    });
  }
  // CPU seconds of this process (all threads, BLAS/OpenMP included): less sensitive to other load than wall time
  const cpu = process.cpuUsage();
  out.cpuSeconds = (cpu.user + cpu.system) / 1e6;
  out.peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
  console.log(JSON.stringify(out));
}
