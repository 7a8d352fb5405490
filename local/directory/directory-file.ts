import { readFile } from 'node:fs/promises';
import { GroupCommit, writeFileDurably } from '../durable-file.ts';
import { persistedDirectorySchema, type PersistedDirectory } from './directory-schemas.ts';

/**
 * The directory's JSON file, as durable as the directory it stands in for: a change is on disk before it is
 * answered. `persist` rewrites the whole directory with {@link writeFileDurably}, so a crash (power loss or
 * `kill -9`) leaves either the old file or the new one, never half a file, and never loses an acknowledged change.
 * Concurrent requests share writes (group commit): one write covers every change made before it started.
 */
export class DirectoryFile {
  // The snapshot is taken when the write starts, on the event loop, so it holds exactly the changes noted so far.
  private readonly commits = new GroupCommit(() => writeFileDurably(this.path, JSON.stringify(this.snapshot())));

  constructor(
    readonly path: string,
    private readonly snapshot: () => PersistedDirectory,
  ) {}

  /** The saved directory, or null when there is no file yet. A file that does not parse fails loudly. */
  async load(): Promise<PersistedDirectory | null> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const parsed = persistedDirectorySchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`Directory data file ${this.path} is not valid: ${parsed.error.message}`);
    return parsed.data;
  }

  /** Notes a change of the directory in memory; `persist` puts it on disk. */
  changed(): void {
    this.commits.note();
  }

  /** Resolves once every change noted so far is on disk; rejects when the write failed. */
  persist(): Promise<void> {
    return this.commits.commit();
  }
}
