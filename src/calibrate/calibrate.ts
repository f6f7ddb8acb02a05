/**
 * Calibration: observed ranges -> quantization parameters.
 *
 * - granularity 'channel': one (scale, zero point) per slice the observer
 *   saw, along the axis it observed (it must have observed along an axis).
 * - granularity 'tensor': one slice over everything. Ranges observed per
 *   channel are merged into their envelope [min lo, max hi]; for the min-max
 *   observer that equals observing with axis null, for the percentile and
 *   MSE observers it is a (wider) different statistic: observe with axis
 *   null to get their true per-tensor value.
 *
 * The scale rules themselves live in `src/quant/scheme.ts`.
 */
import { InputError } from '../errors.js';
import { quantParamsFromRanges, type Granularity, type QuantParams, type SchemeOptions } from '../quant/scheme.js';
import type { ObservedRange } from './observers.js';

export interface CalibrationOptions extends SchemeOptions {
  granularity: Granularity;
}

/**
 * @example
 *   const obs = new MinMaxObserver({ name: 'conv1/output' });
 *   for (const x of calibrationOutputs) obs.observe(x, 1); // NCHW: per channel C
 *   const params = calibrationParams(obs.range(), { scheme: 'q8', granularity: 'channel' }, 'conv1/output');
 */
export function calibrationParams(range: ObservedRange, opts: CalibrationOptions, what = 'tensor'): QuantParams {
  if (range.lo.length === 0 || range.lo.length !== range.hi.length) {
    throw new InputError(`${what}: observed range has ${range.lo.length} lower and ${range.hi.length} upper bounds`);
  }
  if (opts.granularity === 'channel') {
    if (range.axis === null) {
      throw new InputError(`${what}: per-channel calibration needs ranges observed along a channel axis, but they were observed per tensor (axis null)`);
    }
    return quantParamsFromRanges(range, range.axis, opts, what);
  }
  if (opts.granularity === 'tensor') {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < range.lo.length; i++) {
      const l = range.lo[i];
      const h = range.hi[i];
      if (!Number.isFinite(l) || !Number.isFinite(h) || l > h) {
        throw new InputError(`${what} slice ${i} range [${l}, ${h}] must be finite with lo <= hi`);
      }
      lo = Math.min(lo, l);
      hi = Math.max(hi, h);
    }
    return quantParamsFromRanges({ lo: [lo], hi: [hi] }, null, opts, what);
  }
  throw new InputError(`granularity must be 'channel' or 'tensor', got ${JSON.stringify(opts.granularity)}`);
}
