/**
 * File-system watches on the folders that hold chain files: a file made, removed or renamed there (an overlay
 * made with `qemu-img create -b`, a file moved to the trash) calls back once the folder has been quiet for
 * ~300 ms, and at least every 2 s while it never is (a running VM writing its overlay).
 */
import { watch, type FSWatcher } from 'node:fs';

export interface FolderWatchOptions {
  debounceMs?: number;
  maxWaitMs?: number;
}

interface Watched {
  watcher: FSWatcher;
  timer: NodeJS.Timeout | null;
  firstAt: number | null;
}

/** Watches a set of folders, reconciled with `set`; each change calls `onChange(folder)` after the debounce. */
export class FolderWatch {
  private readonly watched = new Map<string, Watched>();
  private readonly debounceMs: number;
  private readonly maxWaitMs: number;

  constructor(
    private readonly onChange: (folder: string) => void,
    options: FolderWatchOptions = {},
  ) {
    this.debounceMs = options.debounceMs ?? 300;
    this.maxWaitMs = options.maxWaitMs ?? 2000;
  }

  /** Watches exactly these folders: new ones are added, the others closed. A folder that cannot be watched is skipped. */
  set(folders: Iterable<string>): void {
    const wanted = new Set(folders);
    for (const [folder, entry] of this.watched) {
      if (!wanted.has(folder)) this.close(folder, entry);
    }
    for (const folder of wanted) {
      if (!this.watched.has(folder)) this.add(folder);
    }
  }

  /** Adds folders to the ones watched. */
  add(folder: string): void {
    if (this.watched.has(folder)) return;
    try {
      const watcher = watch(folder, { persistent: false }, () => this.changed(folder));
      watcher.on('error', () => {
        const entry = this.watched.get(folder);
        if (entry !== undefined) this.close(folder, entry);
      });
      this.watched.set(folder, { watcher, timer: null, firstAt: null });
    } catch {
      // Gone or not readable: the fingerprint poll still sees what libvirt records.
    }
  }

  get folders(): string[] {
    return [...this.watched.keys()];
  }

  private changed(folder: string): void {
    const entry = this.watched.get(folder);
    if (entry === undefined) return;
    const now = Date.now();
    entry.firstAt ??= now;
    if (entry.timer !== null) clearTimeout(entry.timer);
    const wait = Math.max(0, Math.min(this.debounceMs, entry.firstAt + this.maxWaitMs - now));
    entry.timer = setTimeout(() => {
      entry.timer = null;
      entry.firstAt = null;
      this.onChange(folder);
    }, wait);
  }

  private close(folder: string, entry: Watched): void {
    if (entry.timer !== null) clearTimeout(entry.timer);
    entry.watcher.close();
    this.watched.delete(folder);
  }

  /** Closes every watch. */
  stop(): void {
    for (const [folder, entry] of this.watched) this.close(folder, entry);
  }
}
