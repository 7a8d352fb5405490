/** What a load gives the memo: the value, and until when (milliseconds since the epoch) it may be reused. */
export interface Expiring<V> {
  value: V;
  expiresAt: number;
}

export interface ExpiringMemoOptions {
  /** At most this many entries; the least recently used goes first. */
  maxEntries: number;
  /** Milliseconds since the epoch; injected by tests. */
  now?: () => number;
}

interface Entry<V> {
  value: Promise<V>;
  /** Infinity while the load is under way (concurrent callers share it). */
  expiresAt: number;
  settled?: V;
}

/**
 * A per-container memo of values that expire (decrypted secrets, access tokens): concurrent callers of one key
 * share one load, a failed load is forgotten at once (one throttle or blip costs one call, never the container's
 * lifetime), and the entries are bounded. Values live in memory only.
 */
export class ExpiringMemo<V> {
  private readonly entries = new Map<string, Entry<V>>();
  readonly now: () => number;

  constructor(private readonly options: ExpiringMemoOptions) {
    this.now = options.now ?? Date.now;
  }

  get(key: string, load: () => Promise<Expiring<V>>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit && this.now() < hit.expiresAt) {
      // Most recently used last: the first entry of the map is the one evicted.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value;
    }
    const entry: Entry<V> = { value: Promise.resolve() as Promise<V>, expiresAt: Infinity };
    entry.value = load().then(
      (loaded) => {
        entry.expiresAt = loaded.expiresAt;
        entry.settled = loaded.value;
        return loaded.value;
      },
      (error: unknown) => {
        // Only this failed load is dropped: a newer one may already have replaced it.
        if (this.entries.get(key) === entry) this.entries.delete(key);
        throw error;
      },
    );
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.options.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return entry.value;
  }

  /** Forgets the key's value if it is this one (a value found stale once is dropped once, not per caller). */
  forget(key: string, value: V): void {
    if (this.entries.get(key)?.settled === value) this.entries.delete(key);
  }
}
