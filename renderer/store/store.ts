/**
 * The renderer's state: one zustand store built from typed slices. Store actions are the only callers of the
 * API; components read with selectors and call actions.
 */
import { create, type StateCreator } from 'zustand';
import type { AppInfo, SnaptreeApi, SourceEntry } from '../../shared/contract';
import { toErrorData, type ErrorData } from '../../shared/errors';
import type { ScanResult, Source } from '../../shared/model';
import { mark } from '../graph/marks';
import { createInspectSlice, INSPECT_RESET, type InspectSlice } from './inspect-slice';
import { createOpsSlice, type OpsSlice } from './ops-slice';
import { createPanelSlice, type PanelSlice } from './panel-slice';

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

export interface SelectionSlice {
  sourceId: string | null;
  domainName: string | null;
  nodeId: string | null;
  selectDomain(sourceId: string, domainName: string): void;
  selectNode(nodeId: string | null): void;
}

export type Theme = 'light' | 'dark';

export interface UiSlice {
  theme: Theme;
  toggleTheme(): void;
}

export type AppState = SourcesSlice & SelectionSlice & UiSlice & OpsSlice & PanelSlice & InspectSlice;
type Slice<T> = StateCreator<AppState, [], [], T>;

export const createSourcesSlice =
  (api: SnaptreeApi): Slice<SourcesSlice> =>
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
        const before = new Set(get().sources.map((s) => s.id));
        const sources = await api.call('addSource', { source });
        set({ sources });
        const added = sources.filter((s) => !before.has(s.id));
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
        if (get().sourceId === id) set({ sourceId: null, domainName: null, nodeId: null });
      } catch (error) {
        set({ startupError: toErrorData(error) });
      }
    },
    async startDemo() {
      const before = new Set(get().sources.map((s) => s.id));
      const sources = await api.call('startDemo', {});
      set({ sources });
      const added = sources.filter((s) => !before.has(s.id));
      set({ domainName: null });
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
        const domains = scan.result?.domains ?? [];
        const preferred =
          domains.find((d) => d.name === entry.focus) ?? domains.find((d) => d.snapshots.length > 0) ?? domains[0];
        if (preferred !== undefined) {
          get().selectDomain(entry.id, preferred.name);
          return;
        }
      }
    },
  });

export const createSelectionSlice: Slice<SelectionSlice> = (set, get) => ({
  sourceId: null,
  domainName: null,
  nodeId: null,
  selectDomain(sourceId, domainName) {
    set({ sourceId, domainName, nodeId: null, menu: null, preview: null, ...INSPECT_RESET });
  },
  selectNode(nodeId) {
    set({ nodeId, ...(get().second === nodeId ? { second: null } : {}) });
  },
});

function initialTheme(): Theme {
  const saved = typeof localStorage !== 'undefined' ? localStorage.getItem('snaptree-theme') : null;
  if (saved === 'light' || saved === 'dark') return saved;
  return typeof matchMedia !== 'undefined' && matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export const createUiSlice: Slice<UiSlice> = (set, get) => ({
  theme: initialTheme(),
  toggleTheme() {
    const theme = get().theme === 'dark' ? 'light' : 'dark';
    localStorage.setItem('snaptree-theme', theme);
    set({ theme });
  },
});

export function createAppStore(api: SnaptreeApi) {
  return create<AppState>()((...a) => ({
    ...createSourcesSlice(api)(...a),
    ...createSelectionSlice(...a),
    ...createUiSlice(...a),
    ...createOpsSlice(api)(...a),
    ...createPanelSlice(api)(...a),
    ...createInspectSlice(api)(...a),
  }));
}

export type AppStore = ReturnType<typeof createAppStore>;
