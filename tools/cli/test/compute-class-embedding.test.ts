import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readClassEmbedding } from '@semembed/hierarchy';
import { semembed } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'cce-'));

/** `semembed compute-class-embedding --hierarchy <hierarchy> ...more` */
const cce = (hierarchy: string, ...more: string[]) =>
  semembed(['compute-class-embedding', '--hierarchy', hierarchy, ...more]);

describe('semembed compute-class-embedding', () => {
  it('runs the reference README command and prints as the reference', () => {
    const out = join(dir, 'cifar100.unitsphere.pickle');
    const r = cce('hierarchies/Cifar-Hierarchy/cifar.parent-child.txt', '--method', 'unitsphere', '--out', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^Computed 100-dimensional semantic embeddings for 100 classes using the "unitsphere" method in [0-9.e-]+ seconds\.\n/,
    );
    expect(r.stdout).toMatch(/Maximum deviation from target similarities: \d\.\d+e-16\n/);
    expect(r.stdout).toMatch(/Average deviation from target similarities: \d\.\d+e-1[78]\n/);
    const emb = readClassEmbedding(out);
    expect(emb.rows).toBe(100);
    expect(emb.dim).toBe(100);
  });

  it('writes our JSON format with kebab-case aliases and approx_sim --num_dim --norm', () => {
    const out = join(dir, 'fm.json');
    const r = cce(
      'hierarchies/fashion-mnist/fashion-mnist.parent-child.txt',
      '--method',
      'approx_sim',
      '--num-dim',
      '4',
      '--norm',
      '--out',
      out,
    );
    expect(r.code).toBe(0);
    const doc = JSON.parse(readFileSync(out, 'utf8'));
    expect(doc.format).toBe('semembed-class-embedding/1');
    expect(doc.method).toBe('approx_sim');
    expect(doc.ind2label).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(doc.embedding).toHaveLength(10);
    for (const row of doc.embedding as number[][]) expect(Math.hypot(...row)).toBeCloseTo(1, 12);
  });

  it('uses --is_a and --class_list', () => {
    const classes = join(dir, 'classes.txt');
    writeFileSync(classes, '5 sandal\n7 sneaker\n9 boot\n0 top\n');
    const childParent = join(dir, 'is_a.txt');
    writeFileSync(
      childParent,
      readFileSync(
        join(import.meta.dirname, '../../../hierarchies/fashion-mnist/fashion-mnist.parent-child.txt'),
        'utf8',
      )
        .trim()
        .split('\n')
        .map((l) => l.split(' ').reverse().join(' '))
        .join('\n'),
    );
    const out = join(dir, 'sub.json');
    const r = cce(childParent, '--is_a', '--class_list', classes, '--method', 'unitsphere', '--out', out);
    expect(r.code).toBe(0);
    const emb = readClassEmbedding(out);
    expect(emb.ind2label).toEqual([5, 7, 9, 0]);
    // sandal and sneaker share 'footwear' (height 1 of 3): similarity 2/3
    let dot = 0;
    for (let k = 0; k < emb.dim; k++) dot += emb.embedding[k] * emb.embedding[emb.dim + k];
    expect(dot).toBeCloseTo(2 / 3, 14);
  });

  it('fails with one clear line and no output file on bad input', () => {
    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, '1 2\n2 x\n');
    const out = join(dir, 'never.json');
    const r = cce(bad, '--out', out);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`semembed: ${bad}:2: 'x' is not an integer class id (use --str_ids for string ids)`);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('never'))).toEqual([]);
    const missing = semembed(['compute-class-embedding', '--out', out]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/Missing required argument: hierarchy/);
    const method = cce(bad, '--out', out, '--method', 'pca');
    expect(method.code).toBe(2);
    expect(method.stderr).toMatch(/Invalid values:[\s\S]*method/);
  });

  it('has --help', () => {
    const r = semembed(['compute-class-embedding', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--hierarchy/);
    expect(r.stdout).toMatch(/--class_list/);
  });
});
