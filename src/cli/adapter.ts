/** `peir adapter`: print the WebGPU adapter peir would run on, as JSON. */
import { Command, Option } from 'commander';
import { createGpu } from '../gpu/context.js';
import type { AdapterChoice } from '../gpu/node-host.js';

export function adapterCommand(): Command {
  return new Command('adapter')
    .description('print the WebGPU adapter (vendor, architecture, fallback flag, driver, limits) as JSON')
    .addOption(
      new Option('--adapter <choice>', 'which Vulkan driver Dawn loads (Linux)')
        .choices(['auto', 'swiftshader', 'hardware'])
        .default('auto'),
    )
    .action(async (opts: { adapter: AdapterChoice }) => {
      const gpu = await createGpu({ adapter: opts.adapter });
      try {
        process.stdout.write(`${JSON.stringify(gpu.adapter, null, 2)}\n`);
      } finally {
        gpu.dispose();
      }
    });
}
