/**
 * `peir model --inputs DIR` (Node): real activations per layer, one .npy per
 * layer input tensor, named after the tensor with characters outside
 * [A-Za-z0-9._-] replaced by '_' (tensor 'conv1/x:0' -> conv1_x_0.npy). The
 * file holds the tensor as the model sees it with the batch axis counting
 * samples (src/model/run-model.ts samplesFromActivations). A layer without
 * a file gets synthetic inputs.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readNpy } from '../data/npy-node.js';
import { InputError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { inputFileStem, samplesFromActivations, type SampleSource } from './run-model.js';

export function npySampleSource(dir: string): SampleSource {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(`--inputs ${dir}: no such directory`);
  // Several layers (a conv and its BN-folded twin, two LSTM directions, a residual branch) share an input tensor.
  const cache = new Map<string, Promise<Tensor>>();
  return async (layer, counts) => {
    const file = join(dir, `${inputFileStem(layer.inputName)}.npy`);
    if (!existsSync(file)) return undefined;
    let t = cache.get(file);
    if (!t) {
      t = readNpy(file, 'float32');
      cache.set(file, t);
    }
    return samplesFromActivations(layer, await t, counts, file);
  };
}
