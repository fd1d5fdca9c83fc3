/**
 * The live picture of one libvirt connection: its domain events, a fingerprint poll as the safety net, and
 * watches on the folders of its domains' disks. Whatever changed is scanned again, that domain only, and
 * announced as `source-changed` to every source on the connection (docs/architecture.md, "Events and the live
 * picture").
 */
import { dirname } from 'node:path';
import { AppError } from '../../shared/errors';
import type { Domain, Source } from '../../shared/model';
import type { Virsh } from '../tools/virsh';
import { DomainEventStream, type SpawnEvents } from './virsh-events';
import { fingerprintDomain, listDomains } from './fingerprint';
import { FolderWatch, type FolderWatchOptions } from './folder-watch';

/** What a watch needs from the engine. */
export interface WatchHooks {
  virsh(uri: string): Virsh;
  scanDomain(source: Source, name: string): Promise<Domain>;
  /** Whether the engine runs an operation on that domain (any domain of the source when none is named). */
  busy(source: Source, domain?: string): boolean;
  /** Announces a change of `domain` to the sources watched. */
  changed(source: Source, change: { domain: string } | { folder: string }): void;
}

export interface ConnectionWatchOptions {
  pollMs?: number;
  spawn?: SpawnEvents;
  folders?: FolderWatchOptions;
}

/** Whether a connection is to this computer's daemon (`qemu:///system`), not to another host (`qemu+ssh://host/…`). */
export function isLocalUri(uri: string): boolean {
  try {
    return new URL(uri).hostname === '';
  } catch {
    return false;
  }
}

export class ConnectionWatch {
  private readonly source: Source;
  private readonly prints = new Map<string, string>();
  private readonly dirs = new Map<string, Set<string>>();
  private readonly shown = new Map<string, string>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly events: DomainEventStream;
  private readonly folders: FolderWatch;
  private readonly timer: NodeJS.Timeout;
  private polling = false;
  private baseline = false;
  private stopped = false;

  constructor(
    readonly uri: string,
    private readonly hooks: WatchHooks,
    options: ConnectionWatchOptions = {},
  ) {
    this.source = { kind: 'libvirt', uri };
    this.folders = new FolderWatch((folder) => this.folderChanged(folder), options.folders);
    this.events = new DomainEventStream(uri, (event) => void this.rescan(event.domain), () => void this.poll(), {
      ...(options.spawn !== undefined ? { spawn: options.spawn } : {}),
    });
    this.timer = setInterval(() => void this.poll(), options.pollMs ?? 1500);
    void this.poll();
  }

  /** Resolves once the first fingerprint of every domain is taken (tests wait for it). */
  async ready(): Promise<void> {
    while (!this.baseline && !this.stopped) await new Promise((r) => setTimeout(r, 50));
  }

  /** Compares every domain's fingerprint with the last one; scans again the domains that differ or appeared. */
  async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      const virsh = this.hooks.virsh(this.uri);
      const names = await listDomains(virsh);
      const seen = new Set(names);
      await Promise.all(
        names.map(async (name) => {
          if (this.hooks.busy(this.source, name) || this.inFlight.has(name)) return;
          const print = await fingerprintDomain(virsh, name);
          if (!this.baseline) {
            if (print !== null) this.remember(name, print.print, print.dirs);
          } else if (print?.print !== this.prints.get(name)) {
            await this.rescan(name);
          }
        }),
      );
      for (const name of [...this.prints.keys()].filter((n) => !seen.has(n) && !this.hooks.busy(this.source, n))) this.forget(name, true);
      this.baseline = true;
      this.watchFolders();
    } catch {
      // The daemon did not answer this time; the next poll tries again.
    } finally {
      this.polling = false;
    }
  }

  /** Scans one domain again and announces it when what it shows changed. Calls for a domain being scanned are run once more after. */
  rescan(name: string): Promise<void> {
    if (this.stopped || this.hooks.busy(this.source, name)) return Promise.resolve();
    const pending = this.inFlight.get(name);
    if (pending !== undefined) {
      this.again.add(name);
      return pending;
    }
    const run = this.scanOnce(name).finally(() => {
      this.inFlight.delete(name);
      if (this.again.delete(name)) void this.rescan(name);
    });
    this.inFlight.set(name, run);
    return run;
  }

  private async scanOnce(name: string): Promise<void> {
    const virsh = this.hooks.virsh(this.uri);
    const print = await fingerprintDomain(virsh, name);
    if (print === null) return this.forget(name, true);
    let domain: Domain;
    try {
      domain = await this.hooks.scanDomain(this.source, name);
    } catch (error) {
      if (error instanceof AppError && error.code === 'E_NOT_FOUND') this.forget(name, true);
      return;
    }
    const layerDirs = Object.keys(domain.layers).map(dirname);
    this.remember(name, print.print, [...print.dirs, ...layerDirs]);
    const json = JSON.stringify(domain);
    if (this.stopped || this.shown.get(name) === json) return;
    this.shown.set(name, json);
    this.hooks.changed(this.source, { domain: name });
    this.watchFolders();
  }

  private remember(name: string, print: string, dirs: string[]): void {
    this.prints.set(name, print);
    this.dirs.set(name, new Set(dirs));
  }

  /** Drops what is known of a domain; its removal is announced once, when something was known of it. */
  private forget(name: string, announce: boolean): void {
    const known = this.prints.has(name) || this.shown.has(name);
    this.prints.delete(name);
    this.dirs.delete(name);
    this.shown.delete(name);
    if (announce && known && !this.stopped) this.hooks.changed(this.source, { domain: name });
  }

  private watchFolders(): void {
    // The paths a remote connection reports are that host's, not this computer's files of the same name.
    if (this.stopped || !isLocalUri(this.uri)) return;
    this.folders.set(new Set([...this.dirs.values()].flatMap((d) => [...d])));
  }

  /** A chain folder changed: every domain with files there is scanned again. */
  private folderChanged(folder: string): void {
    for (const [name, dirs] of this.dirs) {
      if (dirs.has(folder)) void this.rescan(name);
    }
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.events.stop();
    this.folders.stop();
  }
}
