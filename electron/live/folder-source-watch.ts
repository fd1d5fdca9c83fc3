/**
 * The live picture of an image folder source: watches on the folder and on the folders of its chain files; a
 * change scans the folder again and announces it when what it shows changed.
 */
import { dirname } from 'node:path';
import type { ScanResult, Source } from '../../shared/model';
import { FolderWatch, type FolderWatchOptions } from './folder-watch';

export interface FolderSourceHooks {
  scanFolder(path: string): Promise<ScanResult>;
  busy(source: Source): boolean;
  changed(source: Source, change: { folder: string }): void;
}

/** How long a change seen during an operation waits before it is looked at again. */
const BUSY_RETRY_MS = 1000;

export class FolderSourceWatch {
  private readonly source: Source;
  private readonly folders: FolderWatch;
  private shown: string | null = null;
  private scanning: Promise<void> | null = null;
  private again = false;
  private retry: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly first: Promise<void>;

  constructor(
    readonly path: string,
    private readonly hooks: FolderSourceHooks,
    options: FolderWatchOptions = {},
  ) {
    this.source = { kind: 'folder', path };
    this.folders = new FolderWatch(() => void this.rescan(), options);
    this.folders.add(path);
    this.first = this.scan(false);
  }

  /** Resolves once the first scan is known (tests wait for it). */
  ready(): Promise<void> {
    return this.first;
  }

  /** Scans the folder again; calls during a scan run it once more after. */
  rescan(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.hooks.busy(this.source)) {
      // The operation's own rescan wins; what else changed is looked at once it is done.
      this.retry ??= setTimeout(() => {
        this.retry = null;
        void this.rescan();
      }, BUSY_RETRY_MS);
      return Promise.resolve();
    }
    if (this.scanning !== null) {
      this.again = true;
      return this.scanning;
    }
    this.scanning = this.scan(true).finally(() => {
      this.scanning = null;
      if (this.again) {
        this.again = false;
        void this.rescan();
      }
    });
    return this.scanning;
  }

  private async scan(announce: boolean): Promise<void> {
    let result: ScanResult;
    try {
      result = await this.hooks.scanFolder(this.path);
    } catch {
      return;
    }
    if (this.stopped) return;
    const json = JSON.stringify({ domains: result.domains, problems: result.problems });
    const dirs = new Set([this.path, ...result.domains.flatMap((d) => Object.keys(d.layers).map(dirname))]);
    this.folders.set(dirs);
    if (json === this.shown) return;
    const before = this.shown;
    this.shown = json;
    if (announce && before !== null) this.hooks.changed(this.source, { folder: this.path });
  }

  stop(): void {
    this.stopped = true;
    if (this.retry !== null) clearTimeout(this.retry);
    this.folders.stop();
  }
}
