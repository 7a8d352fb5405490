import { mkdir, open, readFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { GroupCommit, syncFolder, writeFileDurably } from '../durable-file.ts';
import {
  journalRecordSchema,
  scimDataFileSchema,
  type PersistedState,
  type ResourceChange,
} from './scim-schemas.ts';

/** What the data file and its journal hold: a state, and the changes made after it, oldest first. */
export interface SavedScimState {
  state: PersistedState;
  changes: ResourceChange[];
}

/**
 * The service's data, as durable as the target it stands in for: a change is on disk before it is answered.
 *
 * Each change is appended as one JSON line to a journal next to the data file (`<dataFile>.journal`) and the
 * journal is fsynced; the requests waiting while one append runs share the next one (group commit), so a burst of
 * writes costs a few fsyncs, not one each. The data file holds the state up to a journal sequence number; it is
 * rewritten with {@link writeFileDurably} (compaction) on start, on close, and once the journal has grown past
 * both `compactJournalBytes` and the data file itself, after which the journal starts again empty. A crash leaves a
 * data file and a journal that together hold every change answered: the journal's records already in the data
 * file are skipped, and a torn last line (a crash in the middle of an append, which no one was answered for) is
 * ignored.
 */
export class ScimDataFile {
  readonly journalPath: string;
  private journal: FileHandle | null = null;
  /** Sequence number of the last change recorded. */
  private sequence = 0;
  /** Journal lines recorded and not yet written. */
  private lines: string[] = [];
  private journalBytes = 0;
  private dataFileBytes = 0;
  /** The next write is a compaction: on start after a replay, on request, and after a failed append. */
  private compactNext = false;
  private readonly commits = new GroupCommit(() => this.write());

  constructor(
    readonly path: string,
    private readonly snapshot: () => PersistedState,
    private readonly compactJournalBytes: number,
  ) {
    this.journalPath = `${path}.journal`;
  }

  /**
   * The saved state and the journal's changes after it, or null when there is neither a data file nor a journal.
   * A data file or a complete journal line that does not parse, or a gap in the journal, fails loudly.
   */
  async load(): Promise<SavedScimState | null> {
    const dataText = await readIfPresent(this.path);
    const journalText = await readIfPresent(this.journalPath);
    if (dataText === null && journalText === null) return null;

    let state: PersistedState = { Users: [], Groups: [] };
    if (dataText !== null) {
      const parsed = scimDataFileSchema.safeParse(JSON.parse(dataText));
      if (!parsed.success) throw new Error(`The SCIM data file ${this.path} is not valid: ${parsed.error.message}`);
      const { journalSequence, ...rest } = parsed.data;
      state = rest;
      this.sequence = journalSequence;
      this.dataFileBytes = Buffer.byteLength(dataText);
    }
    const changes: ResourceChange[] = [];
    if (journalText !== null && journalText.length > 0) {
      // Replayed changes go into the data file before anything is appended after a torn line.
      this.compactNext = true;
      // What follows the last newline is a torn line (or nothing): no one was answered for it.
      const lines = journalText.split('\n').slice(0, -1);
      for (const [index, line] of lines.entries()) {
        const { sequence, ...change } = this.parseLine(line, index + 1);
        // Records up to the data file's sequence are in it already: the crash came before the journal was emptied.
        if (sequence <= this.sequence) continue;
        if (sequence !== this.sequence + 1) {
          throw new Error(`The SCIM journal ${this.journalPath} skips from change ${this.sequence} to ${sequence} at line ${index + 1}`);
        }
        this.sequence = sequence;
        changes.push(change as ResourceChange);
      }
    }
    return { state, changes };
  }

  /** Opens the journal for appending; compacts first when `load` replayed one. Call after `load`, before `record`. */
  async open(): Promise<void> {
    await mkdir(dirname(this.journalPath), { recursive: true });
    this.journal = await open(this.journalPath, 'a');
    // A journal just created must not vanish with its folder entry.
    await syncFolder(dirname(this.journalPath));
    if (this.compactNext) await this.compact();
  }

  /** Notes a change made in memory; `commit` puts it on disk. */
  record(change: ResourceChange): void {
    this.sequence += 1;
    this.lines.push(`${JSON.stringify({ sequence: this.sequence, ...change })}\n`);
    this.commits.note();
  }

  /** Resolves once every change recorded so far is on disk; rejects when the write that was to hold it failed. */
  commit(): Promise<void> {
    return this.commits.commit();
  }

  /** Puts every change recorded so far into the data file and empties the journal. */
  async compact(): Promise<void> {
    this.compactNext = true;
    // A compaction is a write like an append: it waits for the one running and covers every change recorded.
    this.commits.note();
    await this.commits.commit();
  }

  /** Compacts and closes the journal. */
  async close(): Promise<void> {
    if (this.journal === null) return;
    await this.compact();
    await this.journal?.close();
    this.journal = null;
  }

  private async write(): Promise<void> {
    const journal = this.journal;
    if (journal === null) throw new Error(`The SCIM journal ${this.journalPath} is not open`);
    if (this.compactNext || this.journalBytes >= Math.max(this.compactJournalBytes, this.dataFileBytes)) {
      // Taken now, on the event loop: the data file then holds exactly the changes recorded so far.
      const text = this.dataFileText();
      this.lines = [];
      this.compactNext = true;
      await writeFileDurably(this.path, text);
      await journal.truncate(0);
      await journal.sync();
      this.compactNext = false;
      this.journalBytes = 0;
      this.dataFileBytes = Buffer.byteLength(text);
      return;
    }
    const text = this.lines.join('');
    this.lines = [];
    try {
      await journal.appendFile(text, 'utf8');
      await journal.datasync();
    } catch (error) {
      // The journal may now end in part of these lines; the data file, rewritten, holds them instead.
      this.compactNext = true;
      throw error;
    }
    this.journalBytes += Buffer.byteLength(text);
  }

  private dataFileText(): string {
    return JSON.stringify({ ...this.snapshot(), journalSequence: this.sequence });
  }

  private parseLine(line: string, lineNumber: number): { sequence: number } & ResourceChange {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new Error(`Line ${lineNumber} of the SCIM journal ${this.journalPath} is not JSON: ${(error as Error).message}`);
    }
    const parsed = journalRecordSchema.safeParse(value);
    if (!parsed.success) throw new Error(`Line ${lineNumber} of the SCIM journal ${this.journalPath} is not valid: ${parsed.error.message}`);
    return parsed.data;
  }
}

async function readIfPresent(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

