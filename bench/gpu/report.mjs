// Markdown for the GPU kit's results.jsonl (one JSON line per part, written by run.sh): training and inference
// tables, the ratios the issue's targets name, the main job's time, and every part that failed or timed out.
import { readFileSync, writeFileSync } from 'node:fs';

const f = (x, d = 1) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '—');

export function renderReport(lines) {
  const parts = lines.map((l) => ({ ...l, name: l.name ?? l.part }));
  const by = (n) => parts.find((p) => p.name === n);
  const env = by('env') ?? {};
  const adapter = by('adapter');
  let md = '| | |\n|---|---|\n';
  md += `| Vulkan ICD | \`${env.icd ?? '?'}\`${env.swiftshader ? ' (SwiftShader: NOT GPU numbers)' : ''} |\n`;
  md += `| adapter | ${adapter?.line ?? adapter?.error ?? '?'} |\n`;
  const cpus = adapter?.cpus ?? env.nproc ?? '?';
  md += `| machine | ${env.host ?? '?'}, ${cpus} × ${adapter?.cpu ?? '?'}, Node ${adapter?.node ?? '?'} |\n`;
  md += `| nvidia-smi | ${by('nvidia-smi')?.tail ?? by('nvidia-smi')?.error ?? '—'} |\n`;
  md += `| sizes | ${env.tiny ? 'tiny (dry run)' : 'full'}; budget ${env.budget_s ?? '?'} s |\n\n`;

  const trains = parts.filter((p) => /train/.test(p.name) && !p.error);
  md += '### Training throughput (random data, loss inv_corr, SGD momentum 0.9)\n\n';
  md += '| network | runtime | batch | img/s (median) | img/s of each run | part wall s |\n|---|---|---|---|---|---|\n';
  for (const p of trains) {
    const gpu = p.gpu ? ` (${p.gpu})` : '';
    const rt = p.part === 'torch-train' ? `PyTorch ${p.torch} ${p.device}${gpu}` : `tfjs ${p.backend}`;
    const each = (p.runs ?? []).map((r) => f(r, 0)).join(', ');
    md += `| ${p.arch} | ${rt} | ${p.batch} | ${f(p.img_per_s)} | ${each} | ${f(p.seconds)} |\n`;
  }
  const ratio = (a, b) => (a && b ? f(a / b, 2) : '—');
  md += '\n| network | tfjs webgpu / PyTorch (training) |\n|---|---|\n';
  for (const arch of ['fashion-cnn', 'simple', 'resnet-110-wfc']) {
    md += `| ${arch} | ${ratio(by(`tfjs-webgpu-train-${arch}`)?.img_per_s, by(`torch-train-${arch}`)?.img_per_s)} |\n`;
  }

  md += '\n### Inference throughput (random inputs, results read back to the host)\n\n';
  md += '| network | runtime | batch | img/s (median) | median ms | runs |\n|---|---|---|---|---|---|\n';
  for (const p of parts.filter((q) => /infer/.test(q.name) && !q.error)) {
    const on = p.adapter ? ` (${p.adapter})` : '';
    const rt = p.part === 'torch-infer' ? `PyTorch ${p.torch} ${p.device}` : `ORT ${p.ep}${on}`;
    for (const r of p.rows ?? []) {
      md += `| ${p.arch} | ${rt} | ${r.batch} | ${f(r.img_per_s)} | ${f(r.median_ms, 2)} | ${r.runs} |\n`;
    }
  }
  md += '\n| network | batch | ORT webgpu / PyTorch (inference) |\n|---|---|---|\n';
  for (const arch of ['fashion-cnn', 'simple', 'resnet-110-wfc']) {
    const o = by(`ort-webgpu-infer-${arch}`)?.rows ?? [];
    const t = by(`torch-infer-${arch}`)?.rows ?? [];
    for (const r of o) {
      md += `| ${arch} | ${r.batch} | ${ratio(r.img_per_s, t.find((x) => x.batch === r.batch)?.img_per_s)} |\n`;
    }
  }

  const pipe = by('pipeline-webgpu');
  md += `\n### Main job (\`semembed pipeline --backend webgpu\`)\n\n`;
  const how = pipe?.error ? `failed: ${pipe.error}` : `finished in ${f(pipe?.seconds)} s`;
  md += pipe ? `${how} (quality: pipeline-report.md)\n` : 'not run\n';

  const bad = parts.filter((p) => p.error);
  if (bad.length) {
    md += `\n### Parts that failed or timed out\n\n${bad.map((p) => `- ${p.name}: ${p.error}`).join('\n')}\n`;
  }
  const timed = parts.filter((p) => p.seconds !== undefined);
  md += `\nPart times (s): ${timed.map((p) => `${p.name} ${f(p.seconds)}`).join(', ')}\n`;
  return md;
}

export async function report(inFile, outFile) {
  const lines = readFileSync(inFile, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return { part: 'unparsed', error: l.slice(0, 200) };
      }
    });
  writeFileSync(outFile, renderReport(lines));
}
