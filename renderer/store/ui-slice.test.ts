import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { create } from 'zustand';
import type { AppState } from './store';
import { createUiSlice, isCollapsed, selectMinimap, selectSidebarCollapsed } from './ui-slice';

/** A store of the ui slice alone, over an in-memory local storage. */
function uiStore() {
  return create<AppState>()((...a) => createUiSlice(...a) as AppState);
}

describe('the layout choices', () => {
  let stored: Map<string, string>;
  beforeEach(() => {
    stored = new Map();
    vi.stubGlobal('localStorage', { getItem: (k: string) => stored.get(k) ?? null, setItem: (k: string, v: string) => void stored.set(k, v) });
  });
  afterEach(() => vi.unstubAllGlobals());

  test('a panel the user never chose for is collapsed only while the window is narrow', () => {
    expect(isCollapsed({ layout: {}, windowWidth: 1440 }, 'sidebar')).toBe(false);
    expect(isCollapsed({ layout: {}, windowWidth: 1024 }, 'details')).toBe(true);
    expect(isCollapsed({ layout: { details: 'open' }, windowWidth: 1024 }, 'details')).toBe(false);
    expect(isCollapsed({ layout: { sidebar: 'collapsed' }, windowWidth: 1440 }, 'sidebar')).toBe(true);
    // The sidebar folds first: at 1200 px the details panel stays open, at 1024 px both fold.
    expect([isCollapsed({ layout: {}, windowWidth: 1200 }, 'sidebar'), isCollapsed({ layout: {}, windowWidth: 1200 }, 'details')]).toEqual([true, false]);
    expect(isCollapsed({ layout: {}, windowWidth: 1280 }, 'sidebar')).toBe(false);
  });

  test('in a narrow window the sidebar folds by itself only once a domain is open', () => {
    const store = uiStore();
    store.setState({ windowWidth: 1024, domainName: null });
    expect(selectSidebarCollapsed(store.getState())).toBe(false);
    store.setState({ domainName: 'web01' });
    expect(selectSidebarCollapsed(store.getState())).toBe(true);
    store.setState({ domainName: null, layout: { sidebar: 'collapsed' } });
    expect(selectSidebarCollapsed(store.getState())).toBe(true);
  });

  test('collapsing a panel and hiding the minimap are kept for the next start', () => {
    const store = uiStore();
    store.getState().togglePanel('sidebar');
    store.getState().toggleMinimap();
    expect(isCollapsed(store.getState(), 'sidebar')).toBe(true);
    const next = uiStore();
    expect(isCollapsed(next.getState(), 'sidebar')).toBe(true);
    expect(isCollapsed(next.getState(), 'details')).toBe(false);
    expect(selectMinimap(next.getState())).toBe(false);
  });

  test('an unreadable saved layout counts as no choice', () => {
    stored.set('snaptree-layout', '{"sidebar": 3');
    expect(uiStore().getState().layout).toEqual({});
    stored.set('snaptree-layout', '{"sidebar": "sideways"}');
    expect(uiStore().getState().layout).toEqual({});
  });
});
