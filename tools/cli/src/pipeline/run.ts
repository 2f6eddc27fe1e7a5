import { existsSync } from 'node:fs';
import { writeFileAtomic } from '@semembed/formats';
import { join, relative } from 'node:path';
import { classEmbeddingFacts, classEmbeddingRows, sidecarClassList } from '../sidecar-classes.js';
import { startProgressBar } from '../progress.js';
import { referenceAccuracies } from '../commands/retrieval-common.js';
import { type Step, type PipelineOptions, ensureDir, paths, readJson, runSteps, writeJson } from './steps.js';

type Features = { data: Float32Array; dim: number };
const pct = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '–' : `${(100 * v).toFixed(2)}%`);
const num = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '–' : v.toFixed(4));

/** Runs the main job; returns the report folder. Heavy packages load here, not when the CLI starts. */
export async function runPipeline(
  o: PipelineOptions,
  log: (s: string) => void = (s) => console.error(s),
): Promise<string> {
  const [hier, formats, datasets, trainer, converter, runtime, retrieval] = await Promise.all([
    import('@semembed/hierarchy'),
    import('@semembed/formats'),
    import('@semembed/datasets'),
    import('@semembed/trainer'),
    import('@semembed/converter'),
    import('@semembed/runtime-node'),
    import('@semembed/retrieval'),
  ]);
  const p = paths(o.out);
  ensureDir(p.root);
  const hierarchy = hier.readHierarchy(o.hierarchy, { isA: o.isA, strIds: o.strIds });
  const classes = hierarchy.leaves();
  const names = o.classNames
    ? hier.readClassNames(o.classNames, { strIds: o.strIds })
    : new Map<string | number, string>();
  const nameOf = (id: string | number) => names.get(id) ?? String(id);
  const sidecarClasses = sidecarClassList(classes, nameOf, hierarchy);

  // Test split once, for features and labels (train() loads its own copy in its own step).
  let testSet: Awaited<ReturnType<typeof datasets.loadDataset>> | undefined;
  const test = async () =>
    (testSet ??= await datasets.loadDataset(o.dataset, {
      split: 'test',
      dataRoot: o.dataRoot,
      classes,
      limit: o.limit,
    }));

  const bar = (title: string, total: number) =>
    startProgressBar(o.progress, `${title} [{bar}] {value}/{total} | ETA {eta_formatted}`, total, {
      clearOnComplete: true,
    });

  const trainStep = (which: 'semantic' | 'baseline'): Step => {
    const q = p[which];
    return {
      name:
        which === 'semantic'
          ? `train the semantic embedding model (${o.epochs} epochs)`
          : `train the classification-only baseline (${o.baselineEpochs} epochs)`,
      outputs: [q.h5, q.train],
      run: async () => {
        ensureDir(q.dir);
        const epochs = which === 'semantic' ? o.epochs : o.baselineEpochs;
        let b: ReturnType<typeof bar> | undefined;
        let epochSeen = -1;
        const res = await trainer.train({
          dataset: o.dataset,
          dataRoot: o.dataRoot,
          embedding: which === 'semantic' ? p.embedding : 'onehot',
          architecture: o.architecture,
          loss: which === 'semantic' ? 'inv_corr' : 'softmax_corr',
          clsWeight: which === 'semantic' ? o.clsWeight : 0,
          epochs,
          // One cosine cycle over the whole (short) run: SGDR's first cycle, as long as the training.
          lrSchedule: 'SGDR',
          sgdrBaseLen: epochs,
          batchSize: o.batchSize,
          modelDump: q.h5,
          featureDump: q.tfjsFeatures,
          seed: o.seed,
          backend: o.backend as never,
          workers: o.workers,
          limit: o.limit,
          onLog: (line) => log(`    ${line}`),
          onProgress: (e) => {
            if (e.phase !== 'train') return;
            if (e.epoch !== epochSeen) {
              b?.stop();
              b = bar(`    epoch ${e.epoch + 1}/${e.epochs}`, e.batches);
              epochSeen = e.epoch;
            }
            b?.update(e.batch);
          },
          onEpochEnd: (l) => {
            b?.stop();
            b = undefined;
            log(
              `    epoch ${l.epoch + 1}: ${l.seconds.toFixed(0)} s, ${l.imgPerSec.toFixed(0)} img/s, ` +
                `lr ${l.lr.toPrecision(3)}, loss ${num(l.loss)}` +
                (l.valEmbAcc !== undefined ? `, test emb acc ${pct(l.valEmbAcc)}` : '') +
                (l.valClsAcc !== undefined ? `, test cls acc ${pct(l.valClsAcc)}` : ''),
            );
          },
        });
        writeJson(q.train, {
          backend: res.backend,
          architecture: res.architecture,
          epochs: res.epochs,
          logs: res.logs,
          test: res.test,
        });
      },
    };
  };

  const convertStep = (which: 'semantic' | 'baseline'): Step => {
    const q = p[which];
    return {
      name: `convert the ${which} model to ONNX`,
      outputs: [q.onnx, q.sidecar],
      run: async () => {
        const ds = await test();
        const emb = which === 'semantic' ? hier.readClassEmbedding(p.embedding) : undefined;
        const classEmbedding = emb ? classEmbeddingRows(emb) : undefined;
        const pre = datasets.sidecarPreprocessing(ds);
        const res = await converter.convertKeras({
          h5: q.h5,
          out: q.onnx,
          classes: sidecarClasses,
          classEmbedding,
          // As trained: 'bgr' (the -caffe datasets) stays 'bgr', and the runtimes reverse the channels after normalising.
          preprocessing: pre,
          sourceInfo: {
            pipeline: 'semembed pipeline',
            dataset: o.dataset,
            hierarchy: relative(process.cwd(), o.hierarchy),
            ...classEmbeddingFacts(emb?.method, o.hierarchy),
          },
        });
        log(
          `    ${relative(process.cwd(), res.onnxPath)}: ${res.nodes} nodes, ` +
            `${res.foldedBatchNorms.length} BatchNorms folded; ` +
            `outputs ${res.sidecar.outputs.map((x) => `${x.name} (${x.kind})`).join(', ')}`,
        );
      },
    };
  };

  const featureStep = (which: 'semantic' | 'baseline'): Step => {
    const q = p[which];
    return {
      name: `test-set features of the ${which} model with ONNX Runtime`,
      outputs: [q.features, q.probs, p.labels],
      run: async () => {
        const ds = await test();
        const model = await runtime.loadModel(q.onnx, { ep: 'cpu' });
        const x = datasets.normalizedImages(ds);
        const n = ds.labels.length;
        const size = model.sampleSize;
        const embOut = model.embeddingOutput ?? model.probOutput;
        if (!embOut) throw new Error(`${q.sidecar}: no embedding or probability output`);
        const probOut = model.probOutput;
        const B = 256;
        const b = bar(`    ${which} features (${model.executionProvider})`, n);
        let feats: Float32Array | undefined;
        let probs: Float32Array | undefined;
        let embDim = 0;
        let probDim = 0;
        for (let s = 0; s < n; s += B) {
          const m = Math.min(B, n - s);
          const out = await model.run(x.subarray(s * size, (s + m) * size), m);
          const e = out[embOut.name];
          if (!feats) {
            embDim = e.data.length / m;
            feats = new Float32Array(n * embDim);
            if (probOut) {
              probDim = out[probOut.name].data.length / m;
              probs = new Float32Array(n * probDim);
            }
          }
          feats.set(e.data, s * embDim);
          if (probs && probOut) probs.set(out[probOut.name].data, s * probDim);
          b.update(s + m);
        }
        b.stop();
        await model.release();
        if (!feats) throw new Error(`${o.dataset}: the test split is empty`);
        formats.writeNpy(q.features, { data: feats, shape: [n, embDim] });
        formats.writeNpy(q.probs, probs ? { data: probs, shape: [n, probDim] } : { data: feats, shape: [n, embDim] });
        formats.writeNpy(p.labels, { data: BigInt64Array.from(ds.labels, (v) => BigInt(v)), shape: [n] });
        // The same network in TF.js (trainer) and ONNX Runtime (converter) must agree.
        const tfjs = formats.readNpy(q.tfjsFeatures).data as Float32Array;
        let maxDiff = 0;
        for (let i = 0; i < Math.min(tfjs.length, feats.length); i++)
          maxDiff = Math.max(maxDiff, Math.abs(tfjs[i] - feats[i]));
        log(
          `    ${n} × ${embDim} features from '${embOut.name}' on ${model.executionProvider}; ` +
            `max |ONNX Runtime − TensorFlow.js| = ${maxDiff.toExponential(2)}`,
        );
        writeJson(join(q.dir, 'consistency.json'), { output: embOut.name, maxAbsDiffOrtVsTfjs: maxDiff, n });
        // Gallery side files for `semembed serve --gallery` (/v1/search) and the web page.
        writeFileAtomic(
          runtime.sidePath(q.features, 'ids'),
          Array.from({ length: n }, (_, i) => `test-${i}`).join('\n') + '\n',
        );
        writeFileAtomic(
          runtime.sidePath(q.features, 'labels'),
          Array.from(ds.labels, (l) => nameOf(classes[l])).join('\n') + '\n',
        );
      },
    };
  };

  const steps: Step[] = [
    {
      name: `class embeddings (${o.method}) from ${relative(process.cwd(), o.hierarchy)}`,
      outputs: [p.embedding],
      run: async () => {
        const res = hier.computeClassEmbedding(hierarchy, classes, { method: o.method });
        log(
          `    ${res.rows} classes, ${res.dim} dimensions, max deviation from the target similarities ${res.deviation.max.toExponential(2)}`,
        );
        hier.writeClassEmbedding(p.embedding, hier.classEmbeddingOf(res, { hierarchy: o.hierarchy }));
      },
    },
    trainStep('semantic'),
    ...(o.baseline ? [trainStep('baseline')] : []),
    convertStep('semantic'),
    ...(o.baseline ? [convertStep('baseline')] : []),
    featureStep('semantic'),
    ...(o.baseline ? [featureStep('baseline')] : []),
    {
      name: 'retrieval and classification evaluation (FAISS)',
      outputs: [join(p.report, 'metrics.json'), join(p.report, 'README.md')],
      run: async () => {
        ensureDir(p.report);
        const labels = Int32Array.from(formats.readNpy(p.labels).data as BigInt64Array, (v) => Number(v));
        const sims = {
          WUP: hierarchy.similarityMatrix(classes, 'WUP'),
          LCS_HEIGHT: hierarchy.similarityMatrix(classes, 'LCS_HEIGHT'),
        };
        const ks = retrieval.referenceKs(o.plotMax);
        const sets: [string, 'semantic' | 'baseline'][] = [[`semantic (${o.method})`, 'semantic']];
        if (o.baseline) sets.push(['baseline (softmax)', 'baseline']);
        const perf = new Map<string, Record<string, number>>();
        const cls = new Map<string, Record<string, number>>();
        const engines = new Set<string>();
        const beyondSets: import('@semembed/retrieval').BeyondSet[] = [];
        const graded = {
          ks: retrieval.defaultGradedKs(Math.min(o.clipAhp, labels.length - 1), o.clipAhp),
          maxHeight: hierarchy.maxHeight,
        };
        for (const [label, which] of sets) {
          const f = formats.readNpy(p[which].features);
          const feats: Features = { data: f.data as Float32Array, dim: f.shape[1] };
          const res = retrieval.evaluateRetrieval(feats.data, feats.dim, labels, sims, {
            ks,
            computeAhp: o.clipAhp,
            computeAp: true,
            normalize: true,
            engine: 'auto',
            graded,
            warn: (m) => log(`    warning: ${m}`),
          });
          engines.add(res.engine);
          perf.set(label, res.mean);
          const truth = Array.from(labels, (l) => classes[l]);
          const probs = formats.readNpy(p[which].probs);
          beyondSets.push({ label, retrieval: res, probs: { data: probs.data as Float32Array, dim: probs.shape[1] } });
          const m: Record<string, number> = {};
          // As evaluate-classification: from the probabilities, and (semantic) by the nearest class embedding.
          const decide = (ranking: { ranked: Int32Array; k: number }, how: string) => {
            for (const [k, v] of Object.entries(referenceAccuracies(ranking, classes, truth, hierarchy)))
              m[`${k} (${how})`] = v;
          };
          decide(retrieval.rankClasses(probs.data as Float32Array, probs.shape[1], { kind: 'prob' }, 5), 'softmax');
          if (which === 'semantic') {
            const emb = hier.readClassEmbedding(p.embedding);
            const centroids = { kind: 'centroids' as const, centroids: emb.embedding, rows: emb.rows };
            decide(retrieval.rankClasses(feats.data, feats.dim, centroids, 5), 'nearest class embedding');
          }
          cls.set(label, m);
        }
        const ahp = `AHP@${o.clipAhp}`;
        const plots: string[] = [];
        for (const kind of ['LCS_HEIGHT', 'WUP']) {
          const f = await retrieval.writePlot(
            retrieval.precisionCurveSpec(perf, o.plotMax, kind),
            join(p.report, `hp-curve-${kind.toLowerCase()}`),
          );
          plots.push(f.svg, f.png);
        }
        const bars = await retrieval.writePlot(
          retrieval.mahpBarSpec(perf, `${ahp} (LCS_HEIGHT)`),
          join(p.report, 'mahp-bars'),
        );
        plots.push(bars.svg, bars.png);
        // beyond the reference: intervals, expected-similarity retrieval, CRM, paired tests (packages/retrieval)
        const bootstrap = { resamples: 1000, seed: o.seed };
        const beyond = await retrieval.beyondReport({
          sets: beyondSets,
          labels,
          sims,
          maxHeight: hierarchy.maxHeight,
          clip: o.clipAhp,
          bootstrap,
          outDir: p.report,
        });
        plots.push(...beyond.plots);
        const trainInfo = Object.fromEntries(
          sets.map(([label, which]) => [label, readJson<Record<string, unknown>>(p[which].train)]),
        );
        const consistency = Object.fromEntries(
          sets.map(([label, which]) => [
            label,
            readJson<Record<string, unknown>>(join(p[which].dir, 'consistency.json')),
          ]),
        );
        writeJson(join(p.report, 'metrics.json'), {
          dataset: o.dataset,
          hierarchy: relative(process.cwd(), o.hierarchy),
          method: o.method,
          searchEngine: [...engines],
          retrieval: Object.fromEntries(perf),
          classification: Object.fromEntries(cls),
          training: trainInfo,
          consistency,
          beyondReference: beyond.json,
        });
        writeFileAtomic(
          join(p.report, 'README.md'),
          reportMarkdown(o, perf, cls, trainInfo, consistency, [...engines]) + '\n' + beyond.markdown,
        );
        log(retrieval.formatTable(perf, retrieval.tableMetrics(o.clipAhp)));
        for (const [label, m] of cls)
          log(
            `    ${label}: balanced accuracy ${pct(m['Balanced Accuracy (softmax)'])} (softmax)` +
              (m['Balanced Accuracy (nearest class embedding)'] !== undefined
                ? `, ${pct(m['Balanced Accuracy (nearest class embedding)'])} (nearest class embedding)`
                : ''),
          );
      },
    },
  ];

  // Precision variants for the page (int8 for wasm, fp16 for WebGPU); the metrics above stay the fp32 model's.
  const variant = (v: string) => join(p.semantic.dir, `model.${v}.onnx`);
  steps.push({
    name: 'browser page (model + int8/fp16 variants + gallery of the test set)',
    outputs: [join(p.site, 'index.html'), join(p.site, 'config.json'), variant('int8'), variant('fp16')],
    run: async () => {
      const { makeSite } = await import('@semembed/runtime-web/site');
      const { buildSiteVariants } = await import('./site-variants.js');
      const variants = await buildSiteVariants(p.semantic.onnx, p.semantic.sidecar, o.dataset, o.dataRoot, log);
      // Fashion-MNIST thumbnails come straight from the IDX test images (gallery row i = test image i).
      const root = o.dataRoot ?? '/usr/share/datasets/fashion-mnist';
      const idx = ['t10k-images-idx3-ubyte.gz', 't10k-images-idx3-ubyte']
        .map((f) => join(root, f))
        .find((f) => existsSync(f));
      const thumbs = o.dataset.toLowerCase().replace(/[^a-z]/g, '') === 'fashionmnist' && !o.limit ? idx : undefined;
      const r = makeSite({
        model: p.semantic.sidecar,
        gallery: p.semantic.features,
        out: p.site,
        thumbsIdx: thumbs,
        dtype: 'float16',
        variants,
      });
      log(
        `    ${relative(process.cwd(), r.out)}${r.gallery ? `: gallery ${r.gallery.rows} × ${r.gallery.dim}` : ''}${thumbs ? ' with thumbnails' : ''}`,
      );
    },
  });

  const t0 = performance.now();
  const done = await runSteps(steps, o.force, log);
  log(
    `\nDone in ${((performance.now() - t0) / 60000).toFixed(1)} min (${done.filter((d) => d.skipped).length} steps skipped).`,
  );
  return p.report;
}

/** One Markdown table row. */
const row = (cells: unknown[]) => `| ${cells.map(String).join(' | ')} |\n`;
/** A Markdown table's header row and separator. */
const table = (header: string[]) => row(header) + `|${'---|'.repeat(header.length)}\n`;

function reportMarkdown(
  o: PipelineOptions,
  perf: Map<string, Record<string, number>>,
  cls: Map<string, Record<string, number>>,
  training: Record<string, Record<string, unknown>>,
  consistency: Record<string, Record<string, unknown>>,
  engines: string[],
): string {
  const ahp = `AHP@${o.clipAhp}`;
  let md = `# Report: hierarchy-based semantic embeddings on ${o.dataset}\n\n`;
  md += `Taxonomy \`${relative(process.cwd(), o.hierarchy)}\`, class embeddings \`${o.method}\`; `;
  md += 'retrieval: every test image queries all others ';
  md += `(cosine similarity, search engine: ${engines.join(', ')}); metrics as the reference's evaluate_retrieval.py.\n\n`;
  const ks = [1, 10, 50, 100];
  md += '## Retrieval\n\n';
  md += table(['features', `m${ahp} (LCS_HEIGHT)`, `m${ahp} (WUP)`, 'mAP', ...ks.map((k) => `P@${k} (LCS)`)]);
  for (const [label, m] of perf) {
    const precisions = ks.map((k) => num(m[`P@${k} (LCS_HEIGHT)`]));
    md += row([label, num(m[`${ahp} (LCS_HEIGHT)`]), num(m[`${ahp} (WUP)`]), num(m.AP), ...precisions]);
  }
  md += `\n![hierarchical precision curve](hp-curve-lcs_height.png)\n\n![mAHP](mahp-bars.png)\n\n`;
  md += '## Classification\n\n';
  md += table(['model', 'balanced accuracy', 'accuracy', 'top-5', 'hierarchical accuracy']);
  for (const [label, m] of cls) {
    for (const how of ['softmax', 'nearest class embedding']) {
      if (m[`Balanced Accuracy (${how})`] === undefined) continue;
      const metrics = ['Balanced Accuracy', 'Accuracy', 'Top-5 Accuracy', 'Hierarchical Accuracy'];
      md += row([`${label}, ${how}`, ...metrics.map((metric) => pct(m[`${metric} (${how})`]))]);
    }
  }
  md += '\n## Training\n\n';
  md += table(['model', 'backend', 'architecture', 'epochs', 'seconds', 'img/s (last epoch)']);
  for (const [label, t] of Object.entries(training)) {
    const logs = (t.logs as { seconds: number; imgPerSec: number }[]) ?? [];
    const seconds = logs.reduce((s, l) => s + l.seconds, 0).toFixed(0);
    md += row([label, t.backend, t.architecture, t.epochs, seconds, logs.at(-1)?.imgPerSec.toFixed(0) ?? '–']);
  }
  md += `\nONNX Runtime vs TensorFlow.js on the same test images (max abs difference of the features): `;
  md += Object.entries(consistency)
    .map(([label, c]) => `${label}: ${Number(c.maxAbsDiffOrtVsTfjs).toExponential(2)}`)
    .join('; ');
  md += `.\n`;
  return md;
}
