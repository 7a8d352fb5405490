import { mkdir, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Replaces the file at `path` with `text` so that a crash (power loss or `kill -9`) leaves either the old file or
 * the new one, never half a file: the text goes to a temporary file, which is fsynced, renamed over the old file,
 * and the folder is fsynced so that the rename itself is on disk. Creates the folder when it is missing. `mode`
 * (e.g. 0o600 for a private key) is set on the temporary file before the text is written, so it never lies readable.
 */
export async function writeFileDurably(path: string, text: string, mode?: number): Promise<void> {
  const folder = dirname(path);
  await mkdir(folder, { recursive: true });
  const temporary = `${path}.tmp`;
  const file = await open(temporary, 'w', mode);
  try {
    // open's mode applies only to a new file; a temporary one left by a crash keeps its own until told.
    if (mode !== undefined) await file.chmod(mode);
    await file.writeFile(text, 'utf8');
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
  await syncFolder(folder);
}

/**
 * Makes the entries of a folder (a file created or renamed in it) durable. Platforms that cannot open a folder
 * for fsync (Windows) skip this step.
 */
export async function syncFolder(folder: string): Promise<void> {
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

/**
 * Group commit: callers note changes as they make them in memory, and `commit` resolves once every change noted
 * before the call is on disk. One write runs at a time, and each write covers every change noted before it began,
 * so all the callers waiting while a write runs share the next one.
 */
export class GroupCommit {
  /** Changes noted so far, and how many of them are on disk. */
  private noted = 0;
  private saved = 0;
  private writing: Promise<void> | null = null;

  /**
   * @param write puts every change noted so far on disk. It must take what it writes synchronously, before its
   *   first `await`: changes noted after that are left to the next write.
   */
  constructor(private readonly write: () => Promise<void>) {}

  /** Notes one change made in memory; `commit` puts it on disk. */
  note(): void {
    this.noted += 1;
  }

  /** Resolves once every change noted so far is on disk; rejects when the write that was to cover it failed. */
  async commit(): Promise<void> {
    const wanted = this.noted;
    while (this.saved < wanted) {
      if (this.writing === null) {
        const covers = this.noted;
        this.writing = this.write()
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
}
