/**
 * The GPU runtime: one interface over two hosts (Node through Dawn, the
 * browser through `navigator.gpu`). A `GpuContext` owns its device, its
 * pipeline cache and its buffer pool, turns WebGPU failures into typed errors,
 * and is destroyed by whoever created it (`dispose()`, idempotent).
 *
 * @example
 * ```ts
 * const gpu = await createGpu();
 * try {
 *   const out = await conv2dGpu(gpu, input, weight, bias, { padding: 'same' });
 * } finally {
 *   gpu.dispose();
 * }
 * ```
 */
import {
  GpuDeviceLostError,
  GpuLimitError,
  GpuOutOfMemoryError,
  GpuTimeoutError,
  GpuUnavailableError,
  GpuValidationError,
  PeirError,
} from '../errors.js';
import { BufferPool, type PoolStats } from './buffer-pool.js';
import type { AdapterChoice } from './node-host.js';
import { reflectShader, type BindingInfo, type EntryPointInfo, type ShaderReflection } from './reflect.js';

/** What ran: copied out of `GPUAdapterInfo` (whose fields do not serialize by themselves). */
export interface AdapterReport {
  host: 'node-dawn' | 'browser';
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for software / fallback adapters such as SwiftShader. */
  isFallbackAdapter: boolean;
  /** How the driver was chosen (Node: which Vulkan ICD). */
  driver: string;
  timestampQuery: boolean;
  packed4x8IntegerDotProduct: boolean;
  limits: {
    maxStorageBufferBindingSize: number;
    maxBufferSize: number;
    maxComputeWorkgroupsPerDimension: number;
    maxComputeInvocationsPerWorkgroup: number;
    maxComputeWorkgroupStorageSize: number;
  };
}

export interface CreateGpuOptions {
  /** Node only: `auto` (default; hardware if installed, else SwiftShader), `swiftshader` or `hardware`. */
  adapter?: AdapterChoice;
  powerPreference?: GPUPowerPreference;
  /** Seconds to wait for a readback before declaring the GPU hung. Default 600. */
  timeoutSeconds?: number;
  /**
   * Cap on the bytes of one storage binding that kernels plan for (default: the
   * device's maxStorageBufferBindingSize). Kernels split their work to stay
   * under it; lower it to keep single bindings small or to test the splitting.
   */
  maxStorageBindingBytes?: number;
}

/** A WGSL shader, as imported from `shaders/*.wgsl`, with the label used in errors. */
export interface ShaderSource {
  label: string;
  code: string;
}

/** A compiled entry point of a shader with its explicit layout. */
export interface Kernel {
  label: string;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  bindings: BindingInfo[];
  entry: EntryPointInfo;
  reflection: ShaderReflection;
}

/** A buffer, or a byte range of one, bound to a named shader variable. */
export type BufferBinding = GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

export interface DispatchSpec {
  /** Storage buffers by the shader's variable name. */
  buffers: Record<string, BufferBinding>;
  /** Uniform struct members by name (every member must be given). */
  params?: Record<string, number | readonly number[]>;
  workgroups: readonly [number, number?, number?];
}

const pipelineCaches = new WeakMap<GPUDevice, Map<string, Kernel>>();

/** Usage of buffers that hold tensors. */
export const TENSOR_USAGE = 0x0080 /* STORAGE */ | 0x0004 /* COPY_SRC */ | 0x0008; /* COPY_DST */
const UNIFORM_USAGE = 0x0040 /* UNIFORM */ | 0x0008; /* COPY_DST */
const READBACK_USAGE = 0x0001 /* MAP_READ */ | 0x0008; /* COPY_DST */

/** One command encoder's worth of work; submit it with `GpuContext.submit`. */
export class GpuBatch {
  readonly encoder: GPUCommandEncoder;
  /** Buffers to return to the pool once the work is submitted. */
  readonly temporaries: GPUBuffer[] = [];
  /**
   * Set by a GpuTimer (src/gpu/timing.ts): the timestamp writes of the next
   * compute pass, called once per pass this batch records.
   */
  passTimestamps?: (label: string) => GPUComputePassTimestampWrites | undefined;
  constructor(
    private readonly ctx: GpuContext,
    readonly label: string,
  ) {
    this.encoder = ctx.device.createCommandEncoder({ label });
  }

  /** Record one compute dispatch. Checks bindings and workgroup counts against the device limits first. */
  dispatch(kernel: Kernel, spec: DispatchSpec): void {
    const limits = this.ctx.device.limits;
    const wg = [spec.workgroups[0], spec.workgroups[1] ?? 1, spec.workgroups[2] ?? 1] as const;
    for (const n of wg) {
      if (!Number.isInteger(n) || n < 0) throw new GpuValidationError(`${kernel.label}: invalid workgroup count ${JSON.stringify(spec.workgroups)}`);
      if (n > limits.maxComputeWorkgroupsPerDimension) {
        throw new GpuLimitError(
          `${kernel.label}: ${n} workgroups in one dimension exceed the device limit ` +
            `maxComputeWorkgroupsPerDimension = ${limits.maxComputeWorkgroupsPerDimension}`,
        );
      }
    }
    if (wg[0] * wg[1] * wg[2] === 0) return;
    const missing = kernel.bindings.filter((b) => b.kind !== 'uniform' && !spec.buffers[b.name]).map((b) => b.name);
    if (missing.length > 0) throw new GpuValidationError(`${kernel.label}: no buffer given for binding '${missing.join("', '")}'`);
    const entries: GPUBindGroupEntry[] = [];
    const given = new Set(Object.keys(spec.buffers));
    for (const b of kernel.bindings) {
      if (b.kind === 'uniform') {
        const buf = this.ctx.pool.acquire(b.uniformSize!, UNIFORM_USAGE, `${kernel.label}/${b.name}`);
        this.temporaries.push(buf);
        this.ctx.device.queue.writeBuffer(buf, 0, packUniform(kernel.label, b, spec.params ?? {}));
        entries.push({ binding: b.binding, resource: { buffer: buf, size: b.uniformSize } });
        continue;
      }
      const bound = spec.buffers[b.name];
      given.delete(b.name);
      const res = bound instanceof Object && 'buffer' in bound ? bound : { buffer: bound as GPUBuffer };
      const size = res.size ?? res.buffer.size - (res.offset ?? 0);
      if (size > this.ctx.maxBindingBytes) {
        throw new GpuLimitError(
          `${kernel.label}: binding '${b.name}' is ${size} bytes, above the storage binding limit of ` +
            `${this.ctx.maxBindingBytes} bytes (device maxStorageBufferBindingSize = ${limits.maxStorageBufferBindingSize})`,
        );
      }
      entries.push({ binding: b.binding, resource: { buffer: res.buffer, offset: res.offset ?? 0, size } });
    }
    if (given.size > 0) throw new GpuValidationError(`${kernel.label}: buffers given for unknown bindings: ${[...given].join(', ')}`);
    const bindGroup = this.ctx.device.createBindGroup({ label: kernel.label, layout: kernel.layout, entries });
    const timestampWrites = this.passTimestamps?.(kernel.label);
    const pass = this.encoder.beginComputePass(timestampWrites ? { label: kernel.label, timestampWrites } : { label: kernel.label });
    pass.setPipeline(kernel.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(wg[0], wg[1], wg[2]);
    pass.end();
  }

  /** Allocate a pooled tensor buffer that lives only until this batch is submitted. */
  scratch(byteSize: number, label: string): GPUBuffer {
    const buf = this.ctx.pool.acquire(byteSize, TENSOR_USAGE, label);
    this.temporaries.push(buf);
    return buf;
  }
}

function packUniform(label: string, b: BindingInfo, params: Record<string, number | readonly number[]>): ArrayBuffer {
  const bytes = new ArrayBuffer(b.uniformSize!);
  const view = new DataView(bytes);
  const names = new Set(Object.keys(params));
  for (const f of b.fields!) {
    const v = params[f.name];
    if (v === undefined) throw new GpuValidationError(`${label}: uniform member '${b.name}.${f.name}' was not given`);
    names.delete(f.name);
    const values = typeof v === 'number' ? [v] : v;
    if (values.length !== f.components) {
      throw new GpuValidationError(`${label}: uniform member '${f.name}' takes ${f.components} values, got ${values.length}`);
    }
    values.forEach((x, i) => {
      const at = f.offset + 4 * i;
      if (f.scalar === 'f32') view.setFloat32(at, x, true);
      else if (f.scalar === 'i32') {
        if (!Number.isInteger(x) || x < -(2 ** 31) || x >= 2 ** 31) throw new GpuValidationError(`${label}: '${f.name}' = ${x} is not an i32`);
        view.setInt32(at, x, true);
      } else {
        if (!Number.isInteger(x) || x < 0 || x >= 2 ** 32) throw new GpuValidationError(`${label}: '${f.name}' = ${x} is not a u32`);
        view.setUint32(at, x, true);
      }
    });
  }
  if (names.size > 0) throw new GpuValidationError(`${label}: unknown uniform members: ${[...names].join(', ')}`);
  return bytes;
}

export class GpuContext {
  readonly pool: BufferPool;
  private lostError: PeirError | undefined;
  private disposed = false;
  private queueTail: Promise<unknown> = Promise.resolve();

  /** The largest storage binding kernels may use, in bytes (see CreateGpuOptions.maxStorageBindingBytes). */
  readonly maxBindingBytes: number;

  constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterReport,
    private readonly timeoutMs: number,
    private readonly onDispose: () => void,
    maxStorageBindingBytes?: number,
  ) {
    this.pool = new BufferPool(device);
    this.maxBindingBytes = Math.min(device.limits.maxStorageBufferBindingSize, maxStorageBindingBytes ?? Infinity);
    device.lost.then((info) => {
      if (!this.disposed) {
        this.lostError = new GpuDeviceLostError(
          `the GPU device was lost (${info.reason}): ${info.message || 'no message'}; create a new context to continue`,
        );
      }
    });
    device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
      // Everything peir does runs inside error scopes; anything reaching here is recorded and thrown at the next call.
      this.lostError ??= new GpuValidationError(`uncaptured WebGPU error: ${ev.error.message}`);
    };
  }

  /** Throw if the device is lost or the context disposed. */
  check(): void {
    if (this.disposed) throw new PeirError('this GpuContext has been disposed');
    if (this.lostError) throw this.lostError;
  }

  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  poolStats(): PoolStats {
    return this.pool.stats();
  }

  /** Compile (or fetch from the per-device cache) one entry point of a shader, with override constants. */
  kernel(shader: ShaderSource, entryPoint = 'main', overrides: Record<string, number> = {}): Kernel {
    this.check();
    let cache = pipelineCaches.get(this.device);
    if (!cache) pipelineCaches.set(this.device, (cache = new Map()));
    const key = `${shader.label}|${entryPoint}|${JSON.stringify(Object.entries(overrides).sort())}`;
    const hit = cache.get(key);
    if (hit) return hit;
    const reflection = reflectShader(shader.code, shader.label);
    const entry = reflection.entryPoints.find((e) => e.name === entryPoint);
    if (!entry) throw new GpuValidationError(`shader ${shader.label} has no compute entry point '${entryPoint}'`);
    for (const name of Object.keys(overrides)) {
      if (!reflection.overrides.includes(name)) throw new GpuValidationError(`shader ${shader.label} has no override '${name}'`);
    }
    const used = new Set(entry.uses);
    const bindings = reflection.bindings.filter((b) => b.group === 0 && used.has(b.name));
    const label = `${shader.label}/${entryPoint}`;
    const layout = this.device.createBindGroupLayout({
      label,
      entries: bindings.map((b) => ({
        binding: b.binding,
        visibility: 0x4 /* GPUShaderStage.COMPUTE */,
        buffer: { type: b.kind },
      })),
    });
    const module = this.device.createShaderModule({ label: shader.label, code: shader.code });
    const pipeline = this.device.createComputePipeline({
      label,
      layout: this.device.createPipelineLayout({ label, bindGroupLayouts: [layout] }),
      compute: { module, entryPoint, constants: overrides },
    });
    const k: Kernel = { label, pipeline, layout, bindings, entry, reflection };
    cache.set(key, k);
    return k;
  }

  /** Upload a typed array into a pooled tensor buffer (padded to 4 bytes). Release it with `release`. */
  upload(data: ArrayBufferView, label: string): GPUBuffer {
    this.check();
    const byteSize = Math.ceil(data.byteLength / 4) * 4;
    const buf = this.pool.acquire(Math.max(byteSize, 4), TENSOR_USAGE, label);
    if (data.byteLength % 4 === 0) {
      this.device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
    } else {
      const padded = new Uint8Array(byteSize);
      padded.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      this.device.queue.writeBuffer(buf, 0, padded);
    }
    return buf;
  }

  /** A pooled, uninitialised tensor buffer. Release it with `release`. */
  alloc(byteSize: number, label: string): GPUBuffer {
    this.check();
    return this.pool.acquire(Math.max(byteSize, 4), TENSOR_USAGE, label);
  }

  release(...buffers: GPUBuffer[]): void {
    for (const b of buffers) this.pool.release(b);
  }

  batch(label: string): GpuBatch {
    this.check();
    return new GpuBatch(this, label);
  }

  /**
   * Run `record` inside validation and out-of-memory error scopes, submit its
   * work and return the temporaries to the pool. Submissions are serialised so
   * that error scopes never interleave.
   */
  async run<T>(label: string, record: (batch: GpuBatch) => T): Promise<T> {
    const job = this.queueTail.then(async () => {
      this.check();
      this.device.pushErrorScope('out-of-memory');
      this.device.pushErrorScope('validation');
      let result: T;
      let batch: GpuBatch | undefined;
      try {
        batch = this.batch(label);
        result = record(batch);
        this.device.queue.submit([batch.encoder.finish({ label })]);
      } finally {
        const validation = await this.device.popErrorScope();
        const oom = await this.device.popErrorScope();
        if (batch) this.release(...batch.temporaries);
        if (oom) throw new GpuOutOfMemoryError(`${label}: out of GPU memory: ${oom.message}`);
        if (validation) throw new GpuValidationError(`${label}: ${validation.message}`);
      }
      return result;
    });
    this.queueTail = job.catch(() => undefined);
    return job;
  }

  /** Copy `byteLength` bytes of `buffer` to the CPU. */
  async read(buffer: GPUBuffer, byteLength: number, label = buffer.label): Promise<ArrayBuffer> {
    const size = Math.ceil(byteLength / 4) * 4;
    const staging = await this.run(`${label}/readback`, (b) => {
      const s = this.pool.acquire(size, READBACK_USAGE, `${label}/staging`);
      b.encoder.copyBufferToBuffer(buffer, 0, s, 0, size);
      return s;
    });
    try {
      await this.withTimeout(staging.mapAsync(0x0001 /* GPUMapMode.READ */, 0, size), `${label}: readback`);
      return staging.getMappedRange(0, size).slice(0, byteLength);
    } catch (e) {
      this.check();
      throw e instanceof PeirError ? e : new GpuDeviceLostError(`${label}: readback failed: ${(e as Error).message}`);
    } finally {
      if (staging.mapState === 'mapped') staging.unmap();
      this.pool.release(staging);
    }
  }

  async readF32(buffer: GPUBuffer, numElements: number, label?: string): Promise<Float32Array> {
    return new Float32Array(await this.read(buffer, numElements * 4, label));
  }

  private withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const t = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(this.lostError ?? new GpuTimeoutError(`${what} took longer than ${this.timeoutMs / 1000} s; the GPU may be hung`)),
        this.timeoutMs,
      );
    });
    return Promise.race([p, t]).finally(() => clearTimeout(timer));
  }

  /** Destroy every buffer and the device, and let go of the host's GPU object. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pool.destroyAll();
    this.device.destroy();
    this.onDispose();
  }
}

function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';
}

const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxStorageBuffersPerShaderStage',
] as const;

/** Find an adapter on this host, create a device with the adapter's larger limits, and wrap it. */
export async function createGpu(opts: CreateGpuOptions = {}): Promise<GpuContext> {
  let gpu: GPU | undefined;
  let driver = 'browser default';
  let onDispose = () => {};
  let host: AdapterReport['host'] = 'browser';
  if (isNode()) {
    const nodeHost = await import('./node-host.js');
    const acquired = await nodeHost.acquireNodeGpu(opts.adapter ?? 'auto');
    gpu = acquired.gpu;
    driver = acquired.driverNote;
    onDispose = nodeHost.releaseNodeGpu;
    host = 'node-dawn';
  } else {
    gpu = typeof navigator !== 'undefined' ? navigator.gpu : undefined;
    if (!gpu) throw new GpuUnavailableError('this browser has no WebGPU (navigator.gpu is undefined); use a recent Chrome, Edge or Firefox, or a secure (https / localhost) page');
  }
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  if (!adapter) {
    onDispose();
    throw new GpuUnavailableError(
      host === 'node-dawn'
        ? `no WebGPU adapter found (driver: ${driver}). On Debian install 'chromium' (SwiftShader) and 'libvulkan1', or a GPU driver`
        : 'the browser has WebGPU but offered no adapter (blocklisted GPU or disabled flag)',
    );
  }
  const requiredLimits: Record<string, number> = {};
  for (const k of WANTED_LIMITS) requiredLimits[k] = adapter.limits[k];
  const requiredFeatures: GPUFeatureName[] = [];
  if (adapter.features.has('timestamp-query')) requiredFeatures.push('timestamp-query');
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ label: 'peir', requiredLimits, requiredFeatures });
  } catch (e) {
    onDispose();
    throw new GpuUnavailableError(`the adapter refused to create a device: ${(e as Error).message}`);
  }
  const info = adapter.info;
  const report: AdapterReport = {
    host,
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isFallbackAdapter: Boolean((info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter),
    driver,
    timestampQuery: device.features.has('timestamp-query'),
    packed4x8IntegerDotProduct: gpu.wgslLanguageFeatures?.has('packed_4x8_integer_dot_product') ?? false,
    limits: {
      maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
      maxBufferSize: device.limits.maxBufferSize,
      maxComputeWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
      maxComputeInvocationsPerWorkgroup: device.limits.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupStorageSize: device.limits.maxComputeWorkgroupStorageSize,
    },
  };
  return new GpuContext(device, report, (opts.timeoutSeconds ?? 600) * 1000, onDispose, opts.maxStorageBindingBytes);
}

/** One line naming the adapter, for reports: "google swiftshader (SwiftShader driver 5.0.0), fallback". */
export function describeAdapter(a: AdapterReport): string {
  const what = [a.vendor, a.architecture].filter(Boolean).join(' ') || 'unknown adapter';
  return `${what}${a.description ? ` (${a.description})` : ''}${a.isFallbackAdapter ? ', fallback/software' : ''} via ${a.host}`;
}
