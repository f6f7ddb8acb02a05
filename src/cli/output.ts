/** Where a command's report goes: FILE (with a note on stderr) or stdout. */
import { writeFileSync } from 'node:fs';

export function emitReport(text: string, out: unknown): void {
  if (out) {
    writeFileSync(String(out), text);
    process.stderr.write(`peir: report written to ${String(out)}\n`);
  } else {
    process.stdout.write(text);
  }
}
