import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { persistedDirectorySchema, type PersistedDirectory } from './directory-schemas.ts';

/**
 * The directory's JSON file, as durable as the directory it stands in for: a change is on disk before it is
 * answered. `persist` writes the whole directory to a temporary file, fsyncs it, renames it over the old file and
 * fsyncs the folder, so a crash (power loss or `kill -9`) leaves either the old file or the new one, never half a
 * file, and never loses an acknowledged change. Concurrent requests share writes (group commit): one write covers
 * every change made before it started.
 */
export class DirectoryFile {
  /** Changes noted so far, and how many of them the file holds. */
  private changes = 0;
  private saved = 0;
  private writing: Promise<void> | null = null;

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
    this.changes += 1;
  }

  /** Resolves once every change noted so far is on disk; rejects when the write failed. */
  async persist(): Promise<void> {
    const wanted = this.changes;
    while (this.saved < wanted) {
      if (!this.writing) {
        // The snapshot is taken now, on the event loop, so it holds exactly the changes counted so far.
        const covers = this.changes;
        const text = JSON.stringify(this.snapshot());
        this.writing = this.write(text)
          .then(() => {
            this.saved = covers;
          })
          .finally(() => {
            this.writing = null;
          });
      }
      await this.writing;
    }
  }

  private async write(text: string): Promise<void> {
    const folder = dirname(this.path);
    await mkdir(folder, { recursive: true });
    const temporary = `${this.path}.tmp`;
    const file = await open(temporary, 'w');
    try {
      await file.writeFile(text, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, this.path);
    await syncFolder(folder);
  }
}

/** Makes the rename itself durable. Platforms that cannot open a folder for fsync (Windows) skip this step. */
async function syncFolder(folder: string): Promise<void> {
  let handle;
  try {
    handle = await open(folder, 'r');
  } catch (error) {
    if (['EISDIR', 'EPERM', 'EACCES'].includes((error as NodeJS.ErrnoException).code ?? '')) return;
    throw error;
  }
  try {
    await handle.sync();
  } catch (error) {
    if (!['EINVAL', 'ENOTSUP', 'EPERM'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
  } finally {
    await handle.close();
  }
}
