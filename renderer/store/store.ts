/**
 * The renderer's state: one zustand store assembled from typed slices, one file each. Store actions are the only
 * callers of the API; components read with the selectors in selectors.ts and call actions.
 *
 * Opening another domain or source resets, in one update, what each slice lists in its `*_DOMAIN_RESET`.
 */
import { create, type StateCreator } from 'zustand';
import type { SnaptreeApi } from '../../shared/contract';
import { createInspectSlice, INSPECT_DOMAIN_RESET, type InspectSlice } from './inspect-slice';
import { createLiveSlice, type LiveSlice } from './live-slice';
import { createOpsSlice, OPS_DOMAIN_RESET, type OpsSlice } from './ops-slice';
import { createPanelSlice, PANEL_DOMAIN_RESET, type PanelSlice } from './panel-slice';
import { createSelectionSlice, SELECTION_DOMAIN_RESET, type SelectionSlice } from './selection-slice';
import { createSourcesSlice, type SourcesSlice } from './sources-slice';
import { createThumbnailSlice, type ThumbnailSlice } from './thumbnail-slice';
import { createUiSlice, type UiSlice } from './ui-slice';

export type { SourceScan, SourcesSlice } from './sources-slice';
export type { SelectionSlice } from './selection-slice';
export type { Theme, UiSlice } from './ui-slice';

export interface DomainResetSlice {
  /** Drops everything that belonged to the domain that was open; only `selectDomain` calls it. */
  resetDomain(): void;
}

export type AppState = SourcesSlice & SelectionSlice & UiSlice & OpsSlice & PanelSlice & InspectSlice & LiveSlice & ThumbnailSlice & DomainResetSlice;

/** Every slice's part of a domain reset. */
const DOMAIN_RESET = { ...SELECTION_DOMAIN_RESET, ...OPS_DOMAIN_RESET, ...INSPECT_DOMAIN_RESET, ...PANEL_DOMAIN_RESET } satisfies Partial<AppState>;

const createDomainResetSlice: StateCreator<AppState, [], [], DomainResetSlice> = (set, get) => ({
  resetDomain() {
    set(DOMAIN_RESET);
    // The trash lists the new domain's files: read it again where it is on screen.
    if (get().tab === 'trash' || get().view === 'files') void get().loadTrash();
  },
});

/** The app's store over the engine's API. */
export function createAppStore(api: SnaptreeApi) {
  return create<AppState>()((...a) => ({
    ...createSourcesSlice(api)(...a),
    ...createSelectionSlice(...a),
    ...createUiSlice(...a),
    ...createOpsSlice(api)(...a),
    ...createPanelSlice(api)(...a),
    ...createInspectSlice(api)(...a),
    ...createLiveSlice(api)(...a),
    ...createThumbnailSlice(api)(...a),
    ...createDomainResetSlice(...a),
  }));
}

export type AppStore = ReturnType<typeof createAppStore>;
