/**
 * The run journal: a JSON Lines file to which every finished trial is appended
 * as soon as it completes, so that an interrupted run loses at most the trial
 * in flight. Line 1 is a header naming the configuration (its hash, without
 * the trial count, so a run can be extended); each further line is one trial.
 * Reopening a journal resumes it: its trials are reused, not redone. A torn
 * last line (the process died mid-write) is dropped; any other malformed line,
 * or a header of another configuration, is an error that names the file.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { InputError } from '../errors.js';
import { configHash, type RunConfig } from './config.js';
import type { TrialResult, TrialStore } from './experiment.js';

export const JOURNAL_FORMAT = 1;

interface Header {
  peirJournal: number;
  key: string;
  config: RunConfig;
}

/** The journal key: the config's hash with `trials` left out (more trials extend a run). */
export function journalKey(cfg: RunConfig): string {
  return configHash({ ...cfg, trials: 0 });
}

export class JsonlJournal implements TrialStore {
  private readonly done = new Map<number, TrialResult>();

  /** Open (resume) or create the journal at `path` for `cfg`. `fresh` discards an existing file. */
  constructor(readonly path: string, cfg: RunConfig, fresh = false) {
    const key = journalKey(cfg);
    if (!fresh && existsSync(path) && readFileSync(path, 'utf8').trim() !== '') {
      this.load(path, key);
    } else {
      mkdirSync(dirname(path), { recursive: true });
      const header: Header = { peirJournal: JOURNAL_FORMAT, key, config: cfg };
      writeFileSync(path, `${JSON.stringify(header)}\n`);
    }
  }

  private load(path: string, key: string): void {
    const text = readFileSync(path, 'utf8');
    if (text.trim() === '') return;
    const lines = text.split('\n');
    const torn = !text.endsWith('\n');
    let header: Header;
    try {
      header = JSON.parse(lines[0]) as Header;
    } catch {
      throw new InputError(`journal ${path}: line 1 is not a peir journal header; use another --jsonl path or --fresh`);
    }
    if (header.peirJournal !== JOURNAL_FORMAT || typeof header.key !== 'string') {
      throw new InputError(`journal ${path} is not a peir journal (format ${JSON.stringify(header.peirJournal)})`);
    }
    if (header.key !== key) {
      throw new InputError(
        `journal ${path} belongs to another configuration (key ${header.key}, this run ${key}); ` +
          'use another --jsonl path, or --fresh to overwrite it',
      );
    }
    const last = lines.length - 2; // the last complete line (after it: '' or the torn rest)
    for (let i = 1; i <= last; i++) {
      if (lines[i] === '') continue;
      let r: TrialResult;
      try {
        r = JSON.parse(lines[i]) as TrialResult;
      } catch {
        throw new InputError(`journal ${path}: line ${i + 1} is not valid JSON; the file is damaged (use --fresh to start over)`);
      }
      if (!Number.isInteger(r.trial) || typeof r.peir !== 'number') {
        throw new InputError(`journal ${path}: line ${i + 1} is not a trial record`);
      }
      this.done.set(r.trial, r);
    }
    if (torn) truncateSync(path, Buffer.byteLength(lines.slice(0, last + 1).join('\n')) + 1);
  }

  completed(): ReadonlyMap<number, TrialResult> {
    return this.done;
  }

  append(r: TrialResult): void {
    appendFileSync(this.path, `${JSON.stringify(r)}\n`);
    this.done.set(r.trial, r);
  }
}
