/**
 * The selection: which source and domain are open and which node is selected. `selectDomain` is the one place
 * where another domain (or none) is opened; it applies `resetDomain`, to which every slice adds what it drops.
 */
import type { StateCreator } from 'zustand';
import type { AppState } from './store';

export interface SelectionSlice {
  sourceId: string | null;
  domainName: string | null;
  nodeId: string | null;
  /** The folded runs of snapshots the user opened (collapse-runs.ts), per domain (domainKey), while the app runs. */
  expandedRuns: Record<string, string[]>;
  /** Opens a domain of a source, or none (both null); what belonged to the old one is reset. */
  selectDomain(sourceId: string | null, domainName: string | null): void;
  selectNode(nodeId: string | null): void;
  /** Opens a folded run of the open domain; it stays open for that domain. */
  expandRun(runId: string): void;
}

/** What the selection drops when another domain is opened. */
export const SELECTION_DOMAIN_RESET = { nodeId: null } as const satisfies Partial<SelectionSlice>;

/** The selection slice. */
export const createSelectionSlice: StateCreator<AppState, [], [], SelectionSlice> = (set, get) => ({
  sourceId: null,
  domainName: null,
  nodeId: null,
  expandedRuns: {},
  selectDomain(sourceId, domainName) {
    set({ sourceId, domainName });
    get().resetDomain();
  },
  selectNode(nodeId) {
    set({ nodeId, ...(get().second === nodeId ? { second: null } : {}) });
  },
  expandRun(runId) {
    const key = `${get().sourceId ?? ''}\0${get().domainName ?? ''}`;
    const open = get().expandedRuns[key] ?? [];
    if (!open.includes(runId)) set({ expandedRuns: { ...get().expandedRuns, [key]: [...open, runId] } });
  },
});
