/**
 * `peir model FILE.onnx`: PEIR of every Conv, depthwise Conv and LSTM layer
 * of an ONNX model, each measured in isolation on inputs of its own shape,
 * with a layer-wise report (worst first) and a verdict on which layers to
 * keep in 16 bits.
 */
import { writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { OBSERVER_KINDS } from '../calibrate/observers.js';
import { DISTRIBUTIONS } from '../data/generate.js';
import { analyzeModel, type InputShapeSpec } from '../model/graph.js';
import { npySampleSource } from '../model/inputs-node.js';
import { DEFAULT_KEEP16_PEIR, runModel, type ModelRunSettings } from '../model/run-model.js';
import { loadOnnxFile } from '../onnx/load-node.js';
import { formatModelReport } from '../report/model-format.js';
import { REPORT_FORMATS, type ReportFormat } from '../report/format.js';
import { createEngine } from '../run/engine.js';
import { DEFAULTS } from '../run/config.js';
import { progressBar } from './progress.js';
import { intArg, numberArg } from './run-options.js';

/**
 * Fewer trials than `peir run`'s 100: a model has tens of layers and each
 * runs its own experiment, so 20 trials per layer keep a whole model to
 * minutes while still giving a median and a spread; raise --trials for the
 * layers the verdict flags.
 */
export const MODEL_DEFAULT_TRIALS = 20;
/** Calibration inputs per layer (peir run: 16), for the same reason. */
export const MODEL_DEFAULT_CALIB = 8;

/** "1,3,224,224" or "name=1,3,224,224" (repeatable); "name=" is a scalar. */
export function inputShapeArg(v: string, prev: InputShapeSpec[] = []): InputShapeSpec[] {
  const eq = v.lastIndexOf('=');
  const name = eq >= 0 ? v.slice(0, eq) : undefined;
  const dimsText = eq >= 0 ? v.slice(eq + 1) : v;
  if (name === '') throw new InvalidArgumentError(`'${v}': the tensor name before '=' is empty`);
  const dims = dimsText.trim() === '' ? [] : dimsText.split(/[,x]/).map((s) => intArg(s));
  if (dims.some((d) => d < 1)) throw new InvalidArgumentError(`'${v}': dimensions must be positive integers`);
  if (name === undefined && dims.length === 0) throw new InvalidArgumentError(`'${v}' must be N,C,H,W or NAME=d1,d2,...`);
  return [...prev, { name, dims }];
}

export function modelCommand(): Command {
  return new Command('model')
    .description('measure PEIR of every Conv, depthwise Conv and LSTM layer of an ONNX model, each in isolation, and report them worst first')
    .argument('<file>', 'the .onnx model (external data is read from its folder only)')
    .addOption(new Option('--scheme <name>', 'q8: uint8 affine; q16: int16 dynamic fixed point').choices(['q8', 'q16']).default('q8'))
    .option('--trials <n>', `test inputs per layer (default ${MODEL_DEFAULT_TRIALS}: fewer than peir run's ${DEFAULTS.trials}, as every layer runs its own experiment)`, intArg)
    .option('--calib <n>', `calibration inputs per layer (default ${MODEL_DEFAULT_CALIB})`, intArg)
    .option('--inputs <dir>', "real activations: DIR/<input tensor name>.npy per layer (characters outside [A-Za-z0-9._-] become '_'), batch axis = samples")
    .option('--input-shape <shape>', 'shape of a graph input, N,C,H,W (the first input) or NAME=d1,d2,... (repeatable; NAME= for a scalar)', inputShapeArg)
    .option('--fold-bn', 'also measure each conv with its following BatchNormalization folded in (two rows)')
    .option('--threshold <peir>', `verdict: keep layers whose median PEIR exceeds this in 16 bits (default ${DEFAULT_KEEP16_PEIR})`, numberArg)
    .addOption(new Option('--scale <type>', 'scale type (default: linear for q8, pow2 for q16)').choices(['linear', 'pow2']))
    .addOption(new Option('--granularity <g>', 'weights and outputs per channel or per tensor (default channel)').choices(['channel', 'tensor']))
    .addOption(new Option('--rounding <mode>', 'rounding of real values (default half_even)').choices(['half_even', 'half_away']))
    .addOption(new Option('--mode <mode>', 'int: integer kernels; fake: quantize-dequantize then fp32 (default int)').choices(['int', 'fake']))
    .addOption(new Option('--dist <name>', `synthetic input distribution (default ${DEFAULTS.dist})`).choices(DISTRIBUTIONS))
    .addOption(new Option('--observer <name>', `range observer (default ${DEFAULTS.observer})`).choices(OBSERVER_KINDS))
    .option('--percentile <p>', `percentile observer's p (default ${DEFAULTS.percentile})`, numberArg)
    .option('--seed <s>', `seed of every random stream (default ${DEFAULTS.seed})`, intArg)
    .addOption(new Option('--backend <b>', 'gpu: WebGPU kernels; cpu: the reference loops (default gpu)').choices(['gpu', 'cpu']))
    .addOption(new Option('--format <f>', 'report format').choices(REPORT_FORMATS).default('table'))
    .option('--out <file>', 'write the report to FILE instead of stdout')
    .option('-q, --quiet', 'no progress bar')
    .addHelpText(
      'after',
      '\nExamples:\n  peir model net.onnx --input-shape 1,3,224,224\n' +
        '  peir model silero_vad.onnx --input-shape input=1,512 --scheme q16 --format md\n' +
        '  peir model net.onnx --fold-bn --inputs activations/ --calib 4 --trials 16 --format json --out net.json',
    )
    .action(async (file: string, o: Record<string, unknown>) => {
      const loaded = loadOnnxFile(file);
      const analysis = analyzeModel(loaded.model, {
        file,
        readExternal: loaded.readExternal,
        inputShapes: (o.inputShape as InputShapeSpec[] | undefined) ?? [],
        foldBn: Boolean(o.foldBn),
      });
      const settings: ModelRunSettings = {
        scheme: o.scheme as ModelRunSettings['scheme'],
        trials: (o.trials as number | undefined) ?? MODEL_DEFAULT_TRIALS,
        calib: (o.calib as number | undefined) ?? MODEL_DEFAULT_CALIB,
        seed: o.seed as number | undefined,
        dist: o.dist as ModelRunSettings['dist'],
        observer: o.observer as ModelRunSettings['observer'],
        percentile: o.percentile as number | undefined,
        granularity: o.granularity as ModelRunSettings['granularity'],
        scaleType: o.scale as ModelRunSettings['scaleType'],
        rounding: o.rounding as ModelRunSettings['rounding'],
        mode: o.mode as ModelRunSettings['mode'],
        backend: o.backend as ModelRunSettings['backend'],
        threshold: o.threshold as number | undefined,
      };
      const samples = o.inputs ? npySampleSource(o.inputs as string) : undefined;
      const engine = await createEngine(settings.backend ?? DEFAULTS.backend);
      const bar = progressBar(Boolean(o.quiet), analysis.layers.length, 'layers');
      let text: string;
      try {
        const report = await runModel(analysis, settings, engine, {
          samples,
          inputsLabel: (o.inputs as string | undefined) ?? 'synthetic',
          onLayer: (i) => bar.update(i),
        });
        bar.update(analysis.layers.length);
        text = formatModelReport(report, o.format as ReportFormat);
      } finally {
        bar.stop();
        engine.dispose();
      }
      if (o.out) {
        writeFileSync(o.out as string, text);
        process.stderr.write(`peir: report written to ${o.out as string}\n`);
      } else {
        process.stdout.write(text);
      }
    });
}
