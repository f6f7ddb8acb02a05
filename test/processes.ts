/** Process inspection for the tests that check Chromium always ends (Linux /proc). */
import { readdirSync, readFileSync } from 'node:fs';

/** Live (non-zombie) processes whose command line mentions `needle`, from /proc (Linux). */
export function liveWithArg(needle: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
      if (state !== 'Z' && state !== 'X' && readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(needle)) pids.push(Number(d));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}
