/**
 * The app's selectors, declared once at module level so components re-render only when what they read changes.
 * A component reads the smallest value it needs; the action groups return objects and are read through
 * `useAppActions` (shallow-compared, so they never cause a render: actions do not change).
 */
import type { Domain } from '../../shared/model';
import type { AppState } from './store';

/** One string naming a domain of a source. */
export const domainKey = (sourceId: string, domainName: string) => `${sourceId}\0${domainName}`;

// Sources and selection.
export const selectAppInfo = (s: AppState) => s.appInfo;
export const selectIsDemo = (s: AppState) => s.appInfo?.demo === true;
export const selectSources = (s: AppState) => s.sources;
export const selectScans = (s: AppState) => s.scans;
export const selectAnyScanLoading = (s: AppState) => Object.values(s.scans).some((scan) => scan.status === 'loading');
export const selectStartupError = (s: AppState) => s.startupError;
export const selectSourceId = (s: AppState) => s.sourceId;
export const selectDomainName = (s: AppState) => s.domainName;
export const selectNodeId = (s: AppState) => s.nodeId;
/** Which domain of which source is open, as one comparable string (see `domainKey`). */
export const selectOpenDomainKey = (s: AppState) => domainKey(s.sourceId ?? '', s.domainName ?? '');
export const selectTheme = (s: AppState) => s.theme;

/** The open domain as last scanned, or null. */
export function selectDomain(s: AppState): Domain | null {
  if (s.sourceId === null || s.domainName === null) return null;
  return s.scans[s.sourceId]?.result?.domains.find((d) => d.name === s.domainName) ?? null;
}

/** The open source's settings entry, or null. */
export function selectSourceEntry(s: AppState) {
  return s.sources.find((e) => e.id === s.sourceId) ?? null;
}

/** The open source's last scan, or null. */
export function selectScanResult(s: AppState) {
  return s.sourceId === null ? null : (s.scans[s.sourceId]?.result ?? null);
}

// Inspection.
export const selectView = (s: AppState) => s.view;
export const selectFileId = (s: AppState) => s.fileId;
export const selectSecond = (s: AppState) => s.second;
export const selectComparePick = (s: AppState) => s.comparePick;
export const selectComparison = (s: AppState) => s.comparison;
export const selectHealth = (s: AppState) => s.health;

// Operations.
export const selectMenu = (s: AppState) => s.menu;
export const selectPreview = (s: AppState) => s.preview;
/** The snapshot thumbnails asked for so far (thumbnail-slice.ts). */
export const selectThumbnails = (s: AppState) => s.thumbnails;
export const selectLoadThumbnail = (s: AppState) => s.loadThumbnail;
export const selectLoadThumbnails = (s: AppState) => s.loadThumbnails;
/** Whether the Take snapshot dialog is open. */
export const selectTakingSnapshot = (s: AppState) => s.takingSnapshot;
export const selectCopying = (s: AppState) => s.copying;
/** The running operation with its progress: changes on every poll, so only the status line reads it. */
export const selectRunning = (s: AppState) => s.running;
/** Whether an operation runs: what everything but the status line needs to know. */
export const selectBusy = (s: AppState) => s.running !== null;
export const selectOutcome = (s: AppState) => s.outcome;
export const selectFlash = (s: AppState) => s.flash;

// The right-hand panel.
export const selectTab = (s: AppState) => s.tab;
export const selectHistory = (s: AppState) => s.history;
export const selectTrash = (s: AppState) => s.trash;
export const selectPanelError = (s: AppState) => s.panelError;

// Action groups, one per slice: read them with `useAppActions`.
export const selectSourceActions = (s: AppState) => ({
  loadSources: s.loadSources,
  scanSource: s.scanSource,
  addSource: s.addSource,
  removeSource: s.removeSource,
  startDemo: s.startDemo,
});
export const selectSelectionActions = (s: AppState) => ({ selectDomain: s.selectDomain, selectNode: s.selectNode });
export const selectUiActions = (s: AppState) => ({ toggleTheme: s.toggleTheme });
export const selectInspectActions = (s: AppState) => ({
  setView: s.setView,
  selectFile: s.selectFile,
  selectSecond: s.selectSecond,
  startComparePick: s.startComparePick,
  cancelComparePick: s.cancelComparePick,
  compare: s.compare,
  closeComparison: s.closeComparison,
  checkHealth: s.checkHealth,
});
export const selectOpsActions = (s: AppState) => ({
  openMenu: s.openMenu,
  closeMenu: s.closeMenu,
  startAction: s.startAction,
  openTakeSnapshot: s.openTakeSnapshot,
  closeTakeSnapshot: s.closeTakeSnapshot,
  closeCopyDialog: s.closeCopyDialog,
  previewAction: s.previewAction,
  backToDialog: s.backToDialog,
  setPreviewName: s.setPreviewName,
  setPreviewChoice: s.setPreviewChoice,
  planPreview: s.planPreview,
  closePreview: s.closePreview,
  confirm: s.confirm,
  cancelRunning: s.cancelRunning,
  dismissOutcome: s.dismissOutcome,
});
export const selectPanelActions = (s: AppState) => ({
  showTab: s.showTab,
  loadHistory: s.loadHistory,
  loadTrash: s.loadTrash,
  restoreTrash: s.restoreTrash,
  emptyTrash: s.emptyTrash,
  recover: s.recover,
});
