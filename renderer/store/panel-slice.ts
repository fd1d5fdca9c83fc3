/** The right-hand panel: the selected node's details, the operations log, or the domain's trash. */
import type { StateCreator } from 'zustand';
import type { SnaptreeApi } from '../../shared/contract';
import { toErrorData, type ErrorData } from '../../shared/errors';
import type { HistoryEntry, TrashEntry } from '../../shared/ops/results';
import type { AppState } from './store';

export type PanelTab = 'details' | 'log' | 'trash';

export interface PanelSlice {
  tab: PanelTab;
  history: HistoryEntry[];
  trash: TrashEntry[];
  panelError: ErrorData | null;
  showTab(tab: PanelTab): void;
  loadHistory(): Promise<void>;
  loadTrash(): Promise<void>;
  restoreTrash(operationId: string): Promise<void>;
  emptyTrash(operationId: string): Promise<void>;
  /** Finishes or undoes interrupted operations (as `virt-snaptree recover`), then shows what it did and rescans. */
  recover(): Promise<void>;
}

/** What the panel drops when another domain is opened: the old domain's trash and error. */
export const PANEL_DOMAIN_RESET: Pick<PanelSlice, 'trash' | 'panelError'> = { trash: [], panelError: null };

/** The panel slice over the engine's API. */
export const createPanelSlice =
  (api: SnaptreeApi): StateCreator<AppState, [], [], PanelSlice> =>
  (set, get) => {
    const source = () => get().sources.find((s) => s.id === get().sourceId);
    const guarded = async (work: () => Promise<void>) => {
      try {
        set({ panelError: null });
        await work();
      } catch (error) {
        set({ panelError: toErrorData(error) });
      }
    };
    return {
      tab: 'details',
      history: [],
      trash: [],
      panelError: null,
      showTab(tab) {
        set({ tab });
        if (tab === 'log') void get().loadHistory();
        if (tab === 'trash') void get().loadTrash();
      },
      loadHistory: () => guarded(async () => set({ history: await api.call('history', { limit: 100 }) })),
      loadTrash: () =>
        guarded(async () => {
          const src = source();
          const domain = get().domainName;
          if (src === undefined || domain === null) return set({ trash: [] });
          set({ trash: await api.call('trashList', src.source.kind === 'libvirt' ? { sourceId: src.id, domain } : { sourceId: src.id }) });
        }),
      restoreTrash: (operationId) =>
        guarded(async () => {
          const src = source();
          if (src === undefined) return;
          await api.call('trashRestore', { sourceId: src.id, operationId });
          await get().loadTrash();
          if (get().sourceId !== null) await get().scanSource(get().sourceId as string);
        }),
      recover: () =>
        guarded(async () => {
          const reports = await api.call('recover', {});
          const failed = reports.find((r) => r.outcome === 'failed');
          const said = reports.map((r) => r.message).join(' ');
          set({
            outcome:
              failed === undefined
                ? { ok: true, title: reports.length === 0 ? 'Recovery: nothing was left to finish or undo.' : `Recovery: ${said}`, error: null }
                : { ok: false, title: 'Recovery failed.', error: { code: 'E_TOOL', message: said } },
          });
          await get().loadHistory();
          if (get().sourceId !== null) await get().scanSource(get().sourceId as string);
        }),
      emptyTrash: (operationId) =>
        guarded(async () => {
          const src = source();
          if (src === undefined) return;
          await api.call('trashEmpty', { sourceId: src.id, operationId });
          await get().loadTrash();
        }),
    };
  };
