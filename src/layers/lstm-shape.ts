/**
 * LSTM shapes: validation of a one-layer, batch-1 LSTM call in PyTorch's
 * layout and gate order (i, f, g, o). Shared by the CPU reference and the GPU
 * kernel (it is shape arithmetic, not numerics).
 */
import { InputError } from '../errors.js';
import { checkFinite, checkRank, shapeToString, type Tensor } from '../tensor.js';

/**
 * Operands of a one-layer LSTM over a sequence of `steps` inputs, batch 1:
 * - `input` `[T, I]`
 * - `weightIh` `[4H, I]`, `weightHh` `[4H, H]`: rows are the gates i, f, g, o, H rows each
 * - `biasIh`, `biasHh` `[4H]`, optional (zero)
 * - `h0`, `c0` `[H]`, optional (zero)
 */
export interface LstmInputs {
  input: Tensor;
  weightIh: Tensor;
  weightHh: Tensor;
  biasIh?: Tensor;
  biasHh?: Tensor;
  h0?: Tensor;
  c0?: Tensor;
}

/** What an LSTM returns: every hidden state, and the final hidden and cell states. */
export interface LstmResult {
  /** `[T, H]`: row t is the hidden state after step t. */
  output: Tensor;
  /** `[H]`: the hidden state after the last step (equal to the last row of `output`). */
  h: Tensor;
  /** `[H]`: the cell state after the last step. */
  c: Tensor;
}

export interface LstmShape {
  steps: number;
  inputSize: number;
  hiddenSize: number;
}

function checkVector(t: Tensor | undefined, length: number, what: string): void {
  if (!t) return;
  if (t.shape.length !== 1 || t.shape[0] !== length) {
    throw new InputError(`${what} must have shape [${length}], got ${shapeToString(t.shape)}`);
  }
  checkFinite(t, what);
}

/**
 * Validate every operand of an LSTM call (ranks, non-empty, matching sizes,
 * finite values) and return its sizes. Errors name the offending tensor with
 * PyTorch's names (`weight_ih`, `bias_hh`, ...).
 */
export function lstmShape(args: LstmInputs): LstmShape {
  const { input, weightIh, weightHh } = args;
  checkRank(input, 2, 'lstm input', '[T, I]');
  checkRank(weightIh, 2, 'lstm weight_ih', '[4H, I], gates i, f, g, o');
  checkRank(weightHh, 2, 'lstm weight_hh', '[4H, H], gates i, f, g, o');
  const [steps, inputSize] = input.shape;
  const [rowsHh, hiddenSize] = weightHh.shape;
  if (rowsHh !== 4 * hiddenSize) {
    throw new InputError(
      `lstm weight_hh must be [4H, H] (four gates of H rows), got ${shapeToString(weightHh.shape)}: ` +
        `${rowsHh} rows is not 4 x ${hiddenSize}`,
    );
  }
  if (weightIh.shape[0] !== 4 * hiddenSize || weightIh.shape[1] !== inputSize) {
    throw new InputError(
      `lstm weight_ih must be [4H, I] = [${4 * hiddenSize}, ${inputSize}] for input ${shapeToString(input.shape)} ` +
        `and weight_hh ${shapeToString(weightHh.shape)}, got ${shapeToString(weightIh.shape)}`,
    );
  }
  checkVector(args.biasIh, 4 * hiddenSize, 'lstm bias_ih');
  checkVector(args.biasHh, 4 * hiddenSize, 'lstm bias_hh');
  checkVector(args.h0, hiddenSize, 'lstm h0');
  checkVector(args.c0, hiddenSize, 'lstm c0');
  checkFinite(input, 'lstm input');
  checkFinite(weightIh, 'lstm weight_ih');
  checkFinite(weightHh, 'lstm weight_hh');
  return { steps, inputSize, hiddenSize };
}
