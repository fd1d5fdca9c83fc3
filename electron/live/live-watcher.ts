/**
 * The live picture (docs/architecture.md, "Events and the live picture"): while someone listens to the engine,
 * one watch per libvirt connection and one per image folder among the configured sources. A change is announced
 * as `source-changed` to every source that shows it; the client then reads that domain or folder again.
 */
import type { EngineEvent, SourceEntry } from '../../shared/contract';
import type { Domain, ScanResult, Source } from '../../shared/model';
import type { Virsh } from '../tools/virsh';
import { ConnectionWatch, type ConnectionWatchOptions } from './connection-watch';
import { FolderSourceWatch } from './folder-source-watch';

export interface LiveHooks {
  sources(): Promise<SourceEntry[]>;
  virsh(uri: string): Virsh;
  scanDomain(source: Source, name: string): Promise<Domain>;
  scanFolder(path: string): Promise<ScanResult>;
  busy(source: Source, domain?: string): boolean;
  emit(event: EngineEvent): void;
}

const keyOf = (source: Source): string => (source.kind === 'libvirt' ? `libvirt:${source.uri}` : `folder:${source.path}`);

export class LiveWatcher {
  private readonly connections = new Map<string, ConnectionWatch>();
  private readonly folders = new Map<string, FolderSourceWatch>();
  /** Source ids by the connection or folder they show. */
  private ids = new Map<string, string[]>();
  private running = false;
  private reconciling: Promise<void> = Promise.resolve();

  constructor(
    private readonly hooks: LiveHooks,
    private readonly options: ConnectionWatchOptions = {},
  ) {}

  get active(): boolean {
    return this.running;
  }

  /** Starts watching every configured source. */
  start(): Promise<void> {
    this.running = true;
    return this.refresh();
  }

  /** Follows the configured sources again (after one is added or removed); nothing while stopped. */
  refresh(): Promise<void> {
    this.reconciling = this.reconciling.then(() => this.reconcile()).catch(() => undefined);
    return this.reconciling;
  }

  /** Resolves once every watch has its first picture (tests wait for it). */
  async ready(): Promise<void> {
    await this.reconciling;
    await Promise.all([...this.connections.values(), ...this.folders.values()].map((w) => w.ready()));
  }

  private async reconcile(): Promise<void> {
    const listed = this.running ? await this.hooks.sources() : [];
    // Stopped while the sources were read: nothing is watched.
    const entries = this.running ? listed : [];
    const ids = new Map<string, string[]>();
    for (const entry of entries) ids.set(keyOf(entry.source), [...(ids.get(keyOf(entry.source)) ?? []), entry.id]);
    this.ids = ids;
    const sources = new Map(entries.map((e) => [keyOf(e.source), e.source]));
    for (const [uri, watch] of this.connections) {
      if (ids.has(`libvirt:${uri}`)) continue;
      watch.stop();
      this.connections.delete(uri);
    }
    for (const [path, watch] of this.folders) {
      if (ids.has(`folder:${path}`)) continue;
      watch.stop();
      this.folders.delete(path);
    }
    const hooks = { ...this.hooks, changed: (source: Source, change: { domain: string } | { folder: string }) => this.announce(source, change) };
    for (const source of sources.values()) {
      if (source.kind === 'libvirt' && !this.connections.has(source.uri)) this.connections.set(source.uri, new ConnectionWatch(source.uri, hooks, this.options));
      if (source.kind === 'folder' && !this.folders.has(source.path)) this.folders.set(source.path, new FolderSourceWatch(source.path, hooks, this.options.folders));
    }
  }

  private announce(source: Source, change: { domain: string } | { folder: string }): void {
    const at = new Date().toISOString();
    for (const sourceId of this.ids.get(keyOf(source)) ?? []) this.hooks.emit({ type: 'source-changed', sourceId, ...change, at });
  }

  /** Stops every watch. */
  stop(): Promise<void> {
    this.running = false;
    return this.refresh();
  }
}
