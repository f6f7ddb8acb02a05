/**
 * The options of `peir run` (and of every command that runs an experiment:
 * `peir browser run` takes the same), their help texts and defaults, and
 * their translation into RunOptions. Validation of values happens once, in
 * src/run/config.ts; here only the syntax (numbers, lists) is parsed.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { OBSERVER_KINDS } from '../calibrate/observers.js';
import type { Padding } from '../layers/conv-geometry.js';
import { DISTRIBUTIONS } from '../data/generate.js';
import { DEFAULTS, MODULES, type RunOptions } from '../run/config.js';
import { REPORT_FORMATS } from '../report/format.js';

export function intArg(v: string): number {
  if (!/^-?\d+$/.test(v.trim())) throw new InvalidArgumentError(`'${v}' is not an integer`);
  return Number(v);
}

export function numberArg(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`'${v}' is not a number`);
  return n;
}

/** "3" or "3,5" (height, width). */
export function pairArg(v: string): number | [number, number] {
  const parts = v.split(/[,x]/).map((s) => intArg(s));
  if (parts.length === 1) return parts[0];
  if (parts.length === 2) return [parts[0], parts[1]];
  throw new InvalidArgumentError(`'${v}' must be N or H,W`);
}

/** same | valid | N | top,left,bottom,right */
export function paddingArg(v: string): Padding {
  if (v === 'same' || v === 'valid') return v;
  const parts = v.split(',').map((s) => intArg(s));
  if (parts.length === 1) return parts[0];
  if (parts.length === 4) return [parts[0], parts[1], parts[2], parts[3]];
  throw new InvalidArgumentError(`'${v}' must be same, valid, N or top,left,bottom,right`);
}

/** Add the experiment options to a command; `formats` are the report formats it can print. */
export function addRunOptions(cmd: Command, formats: readonly string[] = REPORT_FORMATS): Command {
  return cmd
    .addOption(new Option('--module <name>', 'layer to study').choices(MODULES).makeOptionMandatory())
    .addOption(new Option('--scheme <name>', 'q8: uint8 affine; q16: int16 dynamic fixed point').choices(['q8', 'q16']).makeOptionMandatory())
    .option('--size <n>', 'input size: conv HxW = NxN; LSTM: N steps of N features (default 224 for q8, 512 for q16, as in the study)', intArg)
    .option('--height <n>', 'conv input height (overrides --size)', intArg)
    .option('--width <n>', 'conv input width (overrides --size)', intArg)
    .option('--steps <n>', 'LSTM time steps T (overrides --size)', intArg)
    .option('--features <n>', 'LSTM input features I (overrides --size)', intArg)
    .option('--in-channels <n>', `conv input channels (default ${DEFAULTS.inChannels}; depthwise: ${DEFAULTS.depthwiseChannels})`, intArg)
    .option('--out-channels <n>', `conv output channels (default ${DEFAULTS.outChannels})`, intArg)
    .option('--kernel <k>', `kernel size, N or H,W (default ${DEFAULTS.kernel})`, pairArg)
    .option('--stride <s>', 'stride, N or H,W (default 1)', pairArg)
    .option('--padding <p>', "same | valid | N | top,left,bottom,right (default same)", paddingArg)
    .option('--dilation <d>', 'dilation, N or H,W (default 1)', pairArg)
    .option('--no-bias', 'layer without bias')
    .option('--hidden <n>', `LSTM hidden size (default ${DEFAULTS.hidden})`, intArg)
    .option('--weights <dir>', 'load weights from .npy files in DIR (weight.npy [bias.npy]; LSTM: weight_ih.npy weight_hh.npy [bias_ih.npy bias_hh.npy])')
    .option('--spread-fraction <f>', 'plant larger weights in this fraction of output channels (default 0)', numberArg)
    .option('--spread-factor <x>', 'how much larger the planted channels are (default 1, e.g. 30)', numberArg)
    .option('--trials <n>', `test inputs (default ${DEFAULTS.trials})`, intArg)
    .option('--seed <s>', `seed of every random stream (default ${DEFAULTS.seed})`, intArg)
    .option('--calib <n>', `calibration inputs, a stream separate from the test inputs (default ${DEFAULTS.calib})`, intArg)
    .addOption(new Option('--dist <name>', `test input distribution (default ${DEFAULTS.dist})`).choices(DISTRIBUTIONS))
    .addOption(new Option('--calib-dist <name>', 'calibration input distribution (default: --dist)').choices(DISTRIBUTIONS))
    .addOption(new Option('--observer <name>', `range observer (default ${DEFAULTS.observer})`).choices(OBSERVER_KINDS))
    .option('--percentile <p>', `percentile observer's p (default ${DEFAULTS.percentile})`, numberArg)
    .addOption(new Option('--granularity <g>', 'weights and outputs per channel (LSTM: per gate row) or per tensor (default channel)').choices(['channel', 'tensor']))
    .addOption(new Option('--scale <type>', 'scale type (default: linear for q8, pow2 for q16)').choices(['linear', 'pow2']))
    .addOption(new Option('--rounding <mode>', 'rounding of real values (default half_even)').choices(['half_even', 'half_away']))
    .addOption(new Option('--mode <mode>', 'int: true integer kernels; fake: quantize-dequantize then fp32 (default int)').choices(['int', 'fake']))
    .addOption(new Option('--backend <b>', 'gpu: WebGPU kernels; cpu: the reference loops (default gpu)').choices(['gpu', 'cpu']))
    .addOption(new Option('--format <f>', `report format${formats.includes('csv') ? ' (csv: one row per trial)' : ''}`).choices(formats).default('table'))
    .option('--out <file>', 'write the report to FILE instead of stdout')
    .option('-q, --quiet', 'no progress bar');
}

/** Commander's parsed options (camelCase) -> RunOptions. */
export function runOptionsFromCli(o: Record<string, unknown>): RunOptions {
  const isLstm = o.module === 'lstm';
  const r: RunOptions = {
    module: o.module as RunOptions['module'],
    scheme: o.scheme as RunOptions['scheme'],
    size: o.size as number | undefined,
    height: (isLstm ? o.steps : o.height) as number | undefined,
    width: (isLstm ? o.features : o.width) as number | undefined,
    inChannels: o.inChannels as number | undefined,
    outChannels: o.outChannels as number | undefined,
    kernel: o.kernel as RunOptions['kernel'],
    stride: o.stride as RunOptions['stride'],
    padding: o.padding as Padding | undefined,
    dilation: o.dilation as RunOptions['dilation'],
    bias: o.bias as boolean | undefined,
    hidden: o.hidden as number | undefined,
    trials: o.trials as number | undefined,
    seed: o.seed as number | undefined,
    calib: o.calib as number | undefined,
    dist: o.dist as RunOptions['dist'],
    calibDist: o.calibDist as RunOptions['calibDist'],
    observer: o.observer as RunOptions['observer'],
    percentile: o.percentile as number | undefined,
    granularity: o.granularity as RunOptions['granularity'],
    scaleType: o.scale as RunOptions['scaleType'],
    rounding: o.rounding as RunOptions['rounding'],
    mode: o.mode as RunOptions['mode'],
    backend: o.backend as RunOptions['backend'],
    spreadFraction: o.spreadFraction as number | undefined,
    spreadFactor: o.spreadFactor as number | undefined,
    weightsDir: (o.weights as string | undefined) ?? null,
  };
  for (const k of Object.keys(r) as (keyof RunOptions)[]) if (r[k] === undefined) delete r[k];
  return r;
}
