/**
 * 1-D work laid out on a 2-D dispatch grid, so that element counts beyond
 * maxComputeWorkgroupsPerDimension x workgroup size still run in one dispatch.
 * Shaders compute `index = gid.x + gid.y * rowPitch` and bounds-check it.
 */
import { GpuLimitError } from '../errors.js';

export function grid2d(count: number, workgroupSize: number, maxPerDim: number): { workgroups: [number, number]; rowPitch: number } {
  const groups = Math.ceil(count / workgroupSize);
  const x = Math.min(groups, maxPerDim);
  const y = Math.ceil(groups / Math.max(x, 1));
  if (y > maxPerDim) {
    throw new GpuLimitError(`${count} elements need ${groups} workgroups, more than ${maxPerDim}^2 on this device`);
  }
  return { workgroups: [x, y], rowPitch: x * workgroupSize };
}
