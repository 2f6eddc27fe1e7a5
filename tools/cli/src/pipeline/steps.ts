/**
 * The main job: the whole method end to end on one dataset (by default the embedded Fashion-MNIST).
 * class embeddings -> train (embedding + classification head) and a classification-only baseline -> .h5 ->
 * ONNX -> test-set features with ONNX Runtime -> retrieval + classification evaluation (FAISS) -> report.
 * Every step writes its outputs under `out/` and is skipped when they exist (force redoes everything).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '@semembed/formats';
import { join, relative, resolve } from 'node:path';
import { UsageError } from '../errors.js';

export interface PipelineOptions {
  out: string;
  dataset: string;
  dataRoot?: string;
  hierarchy: string;
  classNames?: string;
  isA?: boolean;
  strIds?: boolean;
  architecture?: string;
  epochs: number;
  baselineEpochs: number;
  batchSize: number;
  clsWeight: number;
  method: 'unitsphere' | 'approx_sim' | 'mds' | 'spheres';
  backend?: string;
  workers?: number | 'auto';
  limit?: number;
  seed: number;
  baseline: boolean;
  force: boolean;
  progress: boolean;
  clipAhp: number;
  plotMax: number;
}

export interface Step {
  name: string;
  outputs: string[];
  run: () => Promise<void>;
}

const fmtTime = (s: number) => (s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`);

/** Runs steps in order with a header per step, elapsed times, and skip-if-done. */
export async function runSteps(
  steps: Step[],
  force: boolean,
  log: (s: string) => void,
): Promise<{ name: string; seconds: number; skipped: boolean }[]> {
  const done: { name: string; seconds: number; skipped: boolean }[] = [];
  const t0 = performance.now();
  for (const [i, step] of steps.entries()) {
    const head = `[${i + 1}/${steps.length}] ${step.name}`;
    if (!force && step.outputs.length > 0 && step.outputs.every((f) => existsSync(f))) {
      log(
        `${head}: done already (${step.outputs.map((f) => relative(process.cwd(), f)).join(', ')}); --force redoes it`,
      );
      done.push({ name: step.name, seconds: 0, skipped: true });
      continue;
    }
    log(`${head} ...`);
    const s0 = performance.now();
    await step.run();
    const seconds = (performance.now() - s0) / 1000;
    done.push({ name: step.name, seconds, skipped: false });
    log(`${head}: ${fmtTime(seconds)} (total ${fmtTime((performance.now() - t0) / 1000)})`);
  }
  return done;
}

export function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** Atomic: a step is skipped when its output exists, so a half-written one must never be left behind. */
export function writeJson(file: string, value: unknown): void {
  writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

export function checkOptions(o: PipelineOptions): void {
  for (const [flag, v] of [
    ['--epochs', o.epochs],
    ['--baseline_epochs', o.baselineEpochs],
    ['--batch_size', o.batchSize],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new UsageError(`${flag} must be a positive integer, got ${v}`);
  }
  if (!(o.clsWeight >= 0)) throw new UsageError(`--cls_weight must be >= 0, got ${o.clsWeight}`);
  if (!existsSync(o.hierarchy)) throw new UsageError(`--hierarchy ${o.hierarchy}: no such file`);
  if (o.classNames && !existsSync(o.classNames)) throw new UsageError(`--class_names ${o.classNames}: no such file`);
}

export const paths = (out: string) => {
  const o = resolve(out);
  return {
    root: o,
    embedding: join(o, 'class-embedding.json'),
    semantic: {
      dir: join(o, 'semantic'),
      h5: join(o, 'semantic', 'model.h5'),
      tfjsFeatures: join(o, 'semantic', 'features.tfjs.npy'),
      onnx: join(o, 'semantic', 'model.onnx'),
      sidecar: join(o, 'semantic', 'model.json'),
      features: join(o, 'semantic', 'test-features.npy'),
      probs: join(o, 'semantic', 'test-prob.npy'),
      train: join(o, 'semantic', 'train.json'),
    },
    baseline: {
      dir: join(o, 'baseline'),
      h5: join(o, 'baseline', 'model.h5'),
      tfjsFeatures: join(o, 'baseline', 'features.tfjs.npy'),
      onnx: join(o, 'baseline', 'model.onnx'),
      sidecar: join(o, 'baseline', 'model.json'),
      features: join(o, 'baseline', 'test-features.npy'),
      probs: join(o, 'baseline', 'test-prob.npy'),
      train: join(o, 'baseline', 'train.json'),
    },
    labels: join(o, 'test-labels.npy'),
    report: join(o, 'report'),
    site: join(o, 'site'),
  };
};
