import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { persistedStateSchema, type PersistedState } from './scim-schemas.ts';

/**
 * Keeps the service's state in one JSON file. Changes mark the state dirty and a write follows after a quiet
 * `debounceMs`, so that a burst of thousands of requests costs a handful of writes; `flush` writes at once.
 * Each write goes to a temporary file first and is renamed over the old one, so a crash never leaves half a file.
 */
export class JsonFileStore {
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly path: string,
    private readonly snapshot: () => PersistedState,
    private readonly debounceMs: number,
  ) {}

  /** The state saved earlier, or null when there is no file yet. A corrupt file is an error, not an empty start. */
  load(): PersistedState | null {
    if (!existsSync(this.path)) return null;
    const parsed = persistedStateSchema.safeParse(JSON.parse(readFileSync(this.path, 'utf8')));
    if (!parsed.success) throw new Error(`The SCIM data file ${this.path} is not valid: ${parsed.error.message}`);
    return parsed.data;
  }

  markDirty(): void {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.write().catch((error: unknown) => console.error(`Writing ${this.path} failed`, error));
    }, this.debounceMs);
    this.timer.unref();
  }

  /** Writes pending changes now (on close, and for tests). */
  async flush(): Promise<void> {
    if (this.timer === null) return this.writing;
    clearTimeout(this.timer);
    this.timer = null;
    return this.write();
  }

  private write(): Promise<void> {
    const text = JSON.stringify(this.snapshot());
    // A failed earlier write must not block the later ones, which carry the newer state anyway.
    this.writing = this.writing
      .catch(() => undefined)
      .then(async () => {
        await mkdir(dirname(this.path), { recursive: true });
        const temporary = `${this.path}.${process.pid}.tmp`;
        await writeFile(temporary, text);
        await rename(temporary, this.path);
      });
    return this.writing;
  }
}
