/**
 * Sources: the libvirt connections and image folders the app reads, and each one's latest scan. Opening a
 * domain goes through the selection slice's `selectDomain`, the one place that resets what belonged to the old one.
 */
import type { StateCreator } from 'zustand';
import type { AppInfo, SnaptreeApi, SourceEntry } from '../../shared/contract';
import { toErrorData, type ErrorData } from '../../shared/errors';
import type { ScanResult, Source } from '../../shared/model';
import { mark } from '../graph/marks';
import type { AppState } from './store';

export interface SourceScan {
  status: 'loading' | 'ready' | 'error';
  result?: ScanResult;
  error?: ErrorData;
}

export interface SourcesSlice {
  appInfo: AppInfo | null;
  sources: SourceEntry[];
  scans: Record<string, SourceScan>;
  startupError: ErrorData | null;
  loadSources(): Promise<void>;
  scanSource(id: string): Promise<void>;
  openFirstDomain(): void;
  /** Adds a libvirt connection or an image folder (kept in settings); the error says why not. */
  addSource(source: Source): Promise<ErrorData | null>;
  removeSource(id: string): Promise<void>;
  startDemo(): Promise<void>;
}

/** Which sources in `after` were not in `before`. */
function addedSources(before: SourceEntry[], after: SourceEntry[]): SourceEntry[] {
  const ids = new Set(before.map((s) => s.id));
  return after.filter((s) => !ids.has(s.id));
}

/** The domain to open first in a source: the one it focuses on, else the first with snapshots, else the first. */
function preferredDomain(entry: SourceEntry, scan: SourceScan): string | undefined {
  const domains = scan.result?.domains ?? [];
  return (domains.find((d) => d.name === entry.focus) ?? domains.find((d) => d.snapshots.length > 0) ?? domains[0])?.name;
}

/** The sources slice over the engine's API. */
export const createSourcesSlice =
  (api: SnaptreeApi): StateCreator<AppState, [], [], SourcesSlice> =>
  (set, get) => ({
    appInfo: null,
    sources: [],
    scans: {},
    startupError: null,
    async loadSources() {
      try {
        const [appInfo, sources] = await Promise.all([api.call('appInfo', {}), api.call('listSources', {})]);
        set({ appInfo, sources });
        await Promise.all(sources.map((s) => get().scanSource(s.id)));
      } catch (error) {
        set({ startupError: toErrorData(error) });
      }
    },
    async scanSource(id) {
      const entry = get().sources.find((s) => s.id === id);
      if (entry === undefined) return;
      set((state) => ({ scans: { ...state.scans, [id]: { ...state.scans[id], status: 'loading' } } }));
      try {
        const result = await api.call('scan', { sourceId: entry.id });
        mark('scan-ready');
        set((state) => ({ scans: { ...state.scans, [id]: { status: 'ready', result } } }));
      } catch (error) {
        set((state) => ({ scans: { ...state.scans, [id]: { status: 'error', error: toErrorData(error) } } }));
      }
      get().openFirstDomain();
    },
    async addSource(source) {
      try {
        const sources = await api.call('addSource', { source });
        const added = addedSources(get().sources, sources);
        set({ sources });
        await Promise.all(added.map((s) => get().scanSource(s.id)));
        const first = added[0];
        const domain = first ? get().scans[first.id]?.result?.domains[0] : undefined;
        if (first && domain) get().selectDomain(first.id, domain.name);
        return null;
      } catch (error) {
        return toErrorData(error);
      }
    },
    async removeSource(id) {
      try {
        set({ sources: await api.call('removeSource', { id }) });
        if (get().sourceId === id) get().selectDomain(null, null);
      } catch (error) {
        set({ startupError: toErrorData(error) });
      }
    },
    async startDemo() {
      const sources = await api.call('startDemo', {});
      const added = addedSources(get().sources, sources);
      set({ sources });
      get().selectDomain(null, null);
      await Promise.all(added.map((s) => get().scanSource(s.id)));
    },
    openFirstDomain() {
      // Until the user picks, open the first source's preferred domain once every source before it is read,
      // so the graph is on screen at once and does not jump when a slower source answers.
      const { sources, scans, domainName } = get();
      if (domainName !== null) return;
      for (const entry of sources) {
        const scan = scans[entry.id];
        if (scan === undefined || scan.status === 'loading') return;
        const preferred = preferredDomain(entry, scan);
        if (preferred !== undefined) return get().selectDomain(entry.id, preferred);
      }
    },
  });
