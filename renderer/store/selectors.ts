/** Selectors, declared once at module level so components re-render only when what they read changes. */
import type { Domain } from '../../shared/model';
import type { AppState } from './store';

export const selectTheme = (s: AppState) => s.theme;
export const selectSources = (s: AppState) => s.sources;
export const selectScans = (s: AppState) => s.scans;
export const selectNodeId = (s: AppState) => s.nodeId;
export const selectStartupError = (s: AppState) => s.startupError;
export const selectAppInfo = (s: AppState) => s.appInfo;

export function selectDomain(s: AppState): Domain | null {
  if (s.sourceId === null || s.domainName === null) return null;
  return s.scans[s.sourceId]?.result?.domains.find((d) => d.name === s.domainName) ?? null;
}

export function selectSourceEntry(s: AppState) {
  return s.sources.find((e) => e.id === s.sourceId) ?? null;
}

export function selectScanResult(s: AppState) {
  return s.sourceId === null ? null : (s.scans[s.sourceId]?.result ?? null);
}
