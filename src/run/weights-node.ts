/**
 * `--weights DIR`: a layer's weights from .npy files (PyTorch layouts), and
 * the run options their shapes imply. Conv: weight.npy [Cout, Cin, kh, kw]
 * (depthwise [C, 1, kh, kw]) and optional bias.npy [Cout]; LSTM: weight_ih.npy
 * [4H, I], weight_hh.npy [4H, H], optional bias_ih.npy and bias_hh.npy [4H].
 * An option that contradicts the files is an error naming both.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readNpy } from '../data/npy-node.js';
import { InputError } from '../errors.js';
import { shapeToString, type Tensor } from '../tensor.js';
import type { RunOptions } from './config.js';
import type { Layer } from './engine.js';

async function need(dir: string, name: string): Promise<Tensor> {
  const path = join(dir, name);
  if (!existsSync(path)) throw new InputError(`--weights ${dir}: ${name} is missing`);
  return readNpy(path, 'float32');
}

async function optional(dir: string, name: string): Promise<Tensor | undefined> {
  const path = join(dir, name);
  return existsSync(path) ? readNpy(path, 'float32') : undefined;
}

function agree(o: RunOptions, key: keyof RunOptions, value: unknown, option: string, file: string): void {
  const given = o[key];
  if (given !== undefined && JSON.stringify(given) !== JSON.stringify(value)) {
    throw new InputError(`--${option} ${JSON.stringify(given)} contradicts ${file}, which implies ${JSON.stringify(value)}`);
  }
}

export async function loadLayerWeights(o: RunOptions): Promise<{ layer: Layer; options: RunOptions }> {
  const dir = o.weightsDir!;
  if (!existsSync(dir)) throw new InputError(`--weights ${dir}: no such directory`);
  if (o.module === 'lstm') {
    const weightIh = await need(dir, 'weight_ih.npy');
    const weightHh = await need(dir, 'weight_hh.npy');
    if (weightIh.shape.length !== 2 || weightHh.shape.length !== 2) {
      throw new InputError(`--weights ${dir}: weight_ih ${shapeToString(weightIh.shape)} and weight_hh ${shapeToString(weightHh.shape)} must be 2-D`);
    }
    const hidden = weightHh.shape[1];
    const features = weightIh.shape[1];
    agree(o, 'hidden', hidden, 'hidden', 'weight_hh.npy');
    agree(o, 'width', features, 'features', 'weight_ih.npy');
    const biasIh = await optional(dir, 'bias_ih.npy');
    const biasHh = await optional(dir, 'bias_hh.npy');
    return {
      layer: { kind: 'lstm', weightIh, weightHh, biasIh, biasHh },
      options: { ...o, hidden, width: features, bias: Boolean(biasIh || biasHh) },
    };
  }
  const weight = await need(dir, 'weight.npy');
  if (weight.shape.length !== 4) throw new InputError(`--weights ${dir}: weight.npy must be OIHW (4-D), got ${shapeToString(weight.shape)}`);
  const [cout, cin, kh, kw] = weight.shape;
  const bias = await optional(dir, 'bias.npy');
  if (o.module === 'depthwise') {
    if (cin !== 1) throw new InputError(`--weights ${dir}: a depthwise weight must be [C, 1, kh, kw], got ${shapeToString(weight.shape)}`);
    agree(o, 'inChannels', cout, 'in-channels', 'weight.npy');
  } else {
    agree(o, 'inChannels', cin, 'in-channels', 'weight.npy');
    agree(o, 'outChannels', cout, 'out-channels', 'weight.npy');
  }
  return {
    layer: { kind: o.module, weight, bias, opts: {} },
    options: { ...o, inChannels: o.module === 'depthwise' ? cout : cin, outChannels: cout, kernel: [kh, kw], bias: Boolean(bias) },
  };
}
