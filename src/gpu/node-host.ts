/**
 * Node host: WebGPU through Dawn (the `webgpu` npm package).
 *
 * On a machine without a hardware Vulkan driver, Dawn finds no adapter. Debian's
 * `chromium` package ships SwiftShader, a conformant Vulkan on the CPU; we point
 * the Vulkan loader at its ICD file. The loader reads `VK_ICD_FILENAMES` once,
 * when Dawn first creates its instance, so this must happen before `create()`.
 */
import { existsSync, readdirSync } from 'node:fs';

/** Where Debian / Ubuntu / Fedora put Chromium's SwiftShader ICD file. */
export const SWIFTSHADER_ICD_CANDIDATES = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/usr/lib64/chromium-browser/vk_swiftshader_icd.json',
  '/opt/google/chrome/vk_swiftshader_icd.json',
];

const ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];

/**
 * Whether this machine looks like it has a GPU a Vulkan driver could drive:
 * a DRM render node, an NVIDIA device node or WSL's /dev/dxg, and an ICD file
 * other than the CPU drivers (lavapipe, which Dawn rejects; SwiftShader).
 * Mesa installs Intel / AMD ICD files on machines without such a GPU, so the
 * device nodes are what decide.
 */
export function hasHardwareVulkan(): boolean {
  const devices =
    (existsSync('/dev/dri') && readdirSync('/dev/dri').some((f) => f.startsWith('renderD'))) ||
    existsSync('/dev/nvidia0') ||
    existsSync('/dev/dxg');
  if (!devices) return false;
  for (const dir of ICD_DIRS) {
    if (!existsSync(dir)) continue;
    if (readdirSync(dir).some((f) => f.endsWith('.json') && !/lvp|lavapipe|swiftshader/i.test(f))) return true;
  }
  return false;
}

export function findSwiftShaderIcd(): string | undefined {
  const fromEnv = process.env.PEIR_SWIFTSHADER_ICD;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  return SWIFTSHADER_ICD_CANDIDATES.find((p) => existsSync(p));
}

export type AdapterChoice = 'auto' | 'swiftshader' | 'hardware';

/**
 * Decide which Vulkan driver Dawn will see, before it loads. `auto` keeps the
 * user's `VK_ICD_FILENAMES` / `VK_DRIVER_FILES`, else uses a hardware driver
 * when one is installed, else SwiftShader. Returns a note for the report.
 */
export function chooseVulkanDriver(choice: AdapterChoice): string {
  if (process.platform !== 'linux') return 'system default';
  const userSet = process.env.VK_ICD_FILENAMES ?? process.env.VK_DRIVER_FILES;
  if (choice === 'auto' && userSet) return `VK_ICD_FILENAMES=${userSet} (set by the user)`;
  if (choice === 'hardware' || (choice === 'auto' && hasHardwareVulkan())) return 'system Vulkan drivers';
  const icd = findSwiftShaderIcd();
  if (!icd) return 'system Vulkan drivers (no SwiftShader ICD found)';
  process.env.VK_ICD_FILENAMES = icd;
  process.env.VK_DRIVER_FILES = icd;
  return `SwiftShader (${icd})`;
}

let gpu: GPU | undefined;
let users = 0;

/** Acquire the process-wide Dawn GPU object. Pair every call with `releaseNodeGpu`. */
export async function acquireNodeGpu(choice: AdapterChoice): Promise<{ gpu: GPU; driverNote: string }> {
  const driverNote = chooseVulkanDriver(choice);
  if (!gpu) {
    // XDG_RUNTIME_DIR unset makes the Vulkan loader print noise on every start.
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
    const mod = (await import('webgpu')) as unknown as {
      create: (flags: string[]) => GPU;
      globals: Record<string, unknown>;
    };
    // The WebGPU classes (GPUBufferUsage, GPUMapMode, ...) must be globals, as in a browser.
    for (const [k, v] of Object.entries(mod.globals)) {
      if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    }
    gpu = mod.create([]);
  }
  users++;
  return { gpu, driverNote };
}

/** Drop our reference to Dawn once nobody uses it, so that the process can exit. */
export function releaseNodeGpu(): void {
  users = Math.max(0, users - 1);
  if (users === 0) gpu = undefined;
}
