/**
 * WGSL has no #include. Kernels are compiled with the library files they use
 * prepended, whole and in a fixed order (int64 before requant): plain
 * concatenation of real .wgsl files, no code generated from strings.
 */
import int64 from '../../shaders/int64.wgsl';
import requant from '../../shaders/requant.wgsl';
import rowBlock from '../../shaders/row-block.wgsl';
import type { ShaderSource } from './context.js';

export const INTEGER_LIBRARY = `${int64}\n${requant}\n`;

/** The 8-channel x 8-pixel register block (struct Row, fn mac) of the conv kernels. */
export const ROW_BLOCK_LIBRARY = `${rowBlock}\n`;

/** A shader source whose code is `INTEGER_LIBRARY` followed by `code`. */
export function withIntegerLibrary(label: string, code: string): ShaderSource {
  return { label, code: INTEGER_LIBRARY + code };
}
