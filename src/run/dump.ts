/**
 * `--dump DIR`: trial 0 as .npy files (PyTorch conventions) plus params.json,
 * enough to recompute it with numpy (README "Recomputing a dump with numpy").
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeNpy } from '../data/npy-node.js';
import type { TrialZero } from './experiment.js';

export async function writeTrialZero(dir: string, d: TrialZero): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const writes: Promise<void>[] = [];
  const put = (name: string, t: Parameters<typeof writeNpy>[1]) => writes.push(writeNpy(join(dir, `${name}.npy`), t));
  put('input', d.input);
  if (d.layer.kind === 'lstm') {
    put('weight_ih', d.layer.weightIh);
    put('weight_hh', d.layer.weightHh);
    if (d.layer.biasIh) put('bias_ih', d.layer.biasIh);
    if (d.layer.biasHh) put('bias_hh', d.layer.biasHh);
  } else {
    put('weight', d.layer.weight);
    if (d.layer.bias) put('bias', d.layer.bias);
  }
  put('output_fp32', d.outputFp32);
  put('output_dequant', d.outputDequant);
  if (d.integer) {
    put('input_int', d.integer.input);
    for (const [name, t] of Object.entries(d.integer.weights)) put(`${name}_int`, t);
    for (const [name, t] of Object.entries(d.integer.biases)) put(`${name}_int`, t);
    put('acc', d.integer.acc);
    put('output_int', d.integer.output);
  }
  writeFileSync(join(dir, 'params.json'), `${JSON.stringify(d.params, null, 2)}\n`);
  await Promise.all(writes);
}
