/**
 * Inspection: the file view, comparing two nodes, and the health of a domain's files. Results belong to the
 * domain they were asked for and are dropped when another domain is opened.
 */
import type { StateCreator } from 'zustand';
import type { SnaptreeApi } from '../../shared/contract';
import { toErrorData, type ErrorData } from '../../shared/errors';
import type { Comparison, HealthReport } from '../../shared/inspect';
import type { AppState } from './store';

export type GraphView = 'snapshots' | 'files';

export interface ComparisonState {
  a: string;
  b: string;
  status: 'loading' | 'ready' | 'error';
  result?: Comparison;
  error?: ErrorData;
}

export interface HealthState {
  status: 'loading' | 'ready' | 'error';
  report?: HealthReport;
  error?: ErrorData;
  /** The file being checked alone, when only one is. */
  path?: string;
}

export interface InspectSlice {
  view: GraphView;
  /** The selected file in the file view. */
  fileId: string | null;
  /** A second selected node (Ctrl or Shift click), to compare with the first. */
  second: string | null;
  /** "Compare with…" was chosen on this node: the next node picked is compared with it. */
  comparePick: string | null;
  comparison: ComparisonState | null;
  health: HealthState | null;
  setView(view: GraphView): void;
  selectFile(id: string | null): void;
  selectSecond(id: string | null): void;
  startComparePick(id: string): void;
  cancelComparePick(): void;
  compare(a: string, b: string): Promise<void>;
  closeComparison(): void;
  checkHealth(path?: string): Promise<void>;
  /** Acknowledges the health warnings of one file with `reason` (kept by the engine), then checks the file again. */
  acknowledgeWarning(path: string, reason: string): Promise<void>;
}

/** What inspection drops when another domain is opened. */
export const INSPECT_DOMAIN_RESET = { fileId: null, second: null, comparePick: null, comparison: null, health: null } as const;

export const createInspectSlice =
  (api: SnaptreeApi): StateCreator<AppState, [], [], InspectSlice> =>
  (set, get) => {
    const target = () => {
      const { sourceId, domainName } = get();
      return sourceId === null || domainName === null ? null : { sourceId, domain: domainName };
    };
    return {
      view: 'snapshots',
      ...INSPECT_DOMAIN_RESET,
      setView(view) {
        set({ view, menu: null });
        if (view === 'files') void get().loadTrash();
      },
      selectFile(id) {
        set({ fileId: id });
      },
      selectSecond(id) {
        set({ second: id === get().nodeId ? null : id });
      },
      startComparePick(id) {
        set({ comparePick: id, menu: null, nodeId: id });
      },
      cancelComparePick() {
        set({ comparePick: null });
      },
      async compare(a, b) {
        const where = target();
        if (where === null || a === b) return;
        set({ comparePick: null, comparison: { a, b, status: 'loading' } });
        try {
          const result = await api.call('compare', { ...where, a, b });
          if (get().comparison?.a === a && get().comparison?.b === b) set({ comparison: { a, b, status: 'ready', result } });
        } catch (error) {
          if (get().comparison?.a === a && get().comparison?.b === b) set({ comparison: { a, b, status: 'error', error: toErrorData(error) } });
        }
      },
      closeComparison() {
        // The second node was chosen for this comparison: closing it drops it too, with its B mark and "Compare with".
        set({ comparison: null, second: null, comparePick: null });
      },
      async checkHealth(path) {
        const where = target();
        if (where === null) return;
        const before = get().health?.report;
        set({ health: { status: 'loading', ...(before ? { report: before } : {}), ...(path ? { path } : {}) } });
        try {
          const [report] = await api.call('check', { ...where, ...(path ? { path } : {}) });
          if (report === undefined) return set({ health: null });
          // One file checked alone updates its entry in the domain's report, if there is one.
          const merged =
            path !== undefined && before !== undefined
              ? { ...before, layers: [...before.layers.filter((l) => l.path !== path), ...report.layers] }
              : report;
          set({ health: { status: 'ready', report: { ...merged, healthy: merged.layers.every((l) => l.findings.length === 0) } } });
        } catch (error) {
          set({ health: { status: 'error', error: toErrorData(error), ...(before ? { report: before } : {}) } });
        }
      },
      async acknowledgeWarning(path, reason) {
        const where = target();
        if (where === null) return;
        const before = get().health?.report;
        try {
          await api.call('acknowledge', { ...where, path, reason });
        } catch (error) {
          set({ health: { status: 'error', error: toErrorData(error), ...(before ? { report: before } : {}) } });
          return;
        }
        await get().checkHealth(path);
      },
    };
  };
