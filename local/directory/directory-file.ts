import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { persistedDirectorySchema, type PersistedDirectory } from './directory-schemas.ts';

/**
 * The directory's JSON file, written behind changes: a burst of changes costs one write after `delayMs`, and the
 * file is replaced atomically (write then rename) so a crash never leaves half a file.
 */
export class DirectoryFile {
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  private snapshot: (() => PersistedDirectory) | null = null;

  constructor(
    readonly path: string,
    private readonly delayMs: number,
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

  /** Saves `snapshot()` after the delay; later calls within the delay share the write. */
  scheduleSave(snapshot: () => PersistedDirectory): void {
    this.snapshot = snapshot;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush().catch((error: unknown) => console.error(`Saving ${this.path} failed:`, error));
    }, this.delayMs);
    this.timer.unref();
  }

  /** Writes a pending change now (and waits for a write in progress). */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const snapshot = this.snapshot;
    this.snapshot = null;
    if (snapshot) {
      const data = JSON.stringify(snapshot());
      this.writing = this.writing.catch(() => {}).then(() => this.write(data));
    }
    await this.writing;
  }

  private async write(data: string): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const temporary = `${this.path}.${process.pid}.tmp`;
    await writeFile(temporary, data, 'utf8');
    await rename(temporary, this.path);
  }
}
