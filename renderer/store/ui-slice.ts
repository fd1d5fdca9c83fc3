/**
 * Look and feel: the light or dark theme, which side panels are collapsed, whether the canvas shows its minimap
 * and its legend. The theme and the user's layout choices are kept in local storage; a panel the user never
 * chose for is collapsed while the window is narrower than its FOLD_BELOW width.
 */
import { z } from 'zod';
import type { StateCreator } from 'zustand';
import type { AppState } from './store';

export type Theme = 'light' | 'dark';
export type SidePanel = 'sidebar' | 'details';

/**
 * Below these window widths a panel the user never opened or closed is collapsed, to leave the canvas room: the
 * sidebar first (below 1280 px the graph would get less than about 700 px with both open), the details panel
 * below 1100 px (with it alone open the graph keeps about 700 px down to there).
 */
export const FOLD_BELOW: Readonly<Record<SidePanel, number>> = { sidebar: 1280, details: 1100 };
const LAYOUT_KEY = 'snaptree-layout';

/** What the user chose, as kept in local storage; a missing panel means "collapse when the window is narrow". */
const LayoutChoice = z.object({
  sidebar: z.enum(['open', 'collapsed']).optional(),
  details: z.enum(['open', 'collapsed']).optional(),
  minimap: z.boolean().optional(),
});
type LayoutChoice = z.infer<typeof LayoutChoice>;

export interface UiSlice {
  theme: Theme;
  layout: LayoutChoice;
  /** The window's width in CSS px (the app follows resizes); 0 when unknown. */
  windowWidth: number;
  legendOpen: boolean;
  toggleTheme(): void;
  togglePanel(panel: SidePanel): void;
  toggleMinimap(): void;
  setLegendOpen(open: boolean): void;
  setWindowWidth(width: number): void;
}

function initialTheme(): Theme {
  const saved = typeof localStorage !== 'undefined' ? localStorage.getItem('snaptree-theme') : null;
  if (saved === 'light' || saved === 'dark') return saved;
  return typeof matchMedia !== 'undefined' && matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

/** The saved layout choices; anything unreadable counts as no choice. */
function savedLayout(): LayoutChoice {
  if (typeof localStorage === 'undefined') return {};
  try {
    const parsed = LayoutChoice.safeParse(JSON.parse(localStorage.getItem(LAYOUT_KEY) ?? '{}'));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}

function saveLayout(layout: LayoutChoice): void {
  if (typeof localStorage !== 'undefined') localStorage.setItem(LAYOUT_KEY, JSON.stringify(layout));
}

/** Whether `panel` is collapsed now: as the user chose, else when the window is narrower than its FOLD_BELOW. */
export function isCollapsed(state: Pick<UiSlice, 'layout' | 'windowWidth'>, panel: SidePanel): boolean {
  const chosen = state.layout[panel];
  return chosen === undefined ? state.windowWidth > 0 && state.windowWidth < FOLD_BELOW[panel] : chosen === 'collapsed';
}

/** The sidebar folds by itself only once a domain is open: until then it is the only thing to use. */
export const selectSidebarCollapsed = (s: AppState) => isCollapsed(s, 'sidebar') && (s.layout.sidebar !== undefined || s.domainName !== null);
export const selectDetailsCollapsed = (s: AppState) => isCollapsed(s, 'details');
/** The minimap is shown unless the user turned it off. */
export const selectMinimap = (s: AppState) => s.layout.minimap ?? true;
export const selectLegendOpen = (s: AppState) => s.legendOpen;
export const selectLayoutActions = (s: AppState) => ({ togglePanel: s.togglePanel, toggleMinimap: s.toggleMinimap, setLegendOpen: s.setLegendOpen, setWindowWidth: s.setWindowWidth });

/** The look-and-feel slice: the saved theme (else the system's) and the saved layout. */
export const createUiSlice: StateCreator<AppState, [], [], UiSlice> = (set, get) => ({
  theme: initialTheme(),
  layout: savedLayout(),
  windowWidth: typeof window !== 'undefined' && typeof window.innerWidth === 'number' ? window.innerWidth : 0,
  legendOpen: false,
  toggleTheme() {
    const theme = get().theme === 'dark' ? 'light' : 'dark';
    localStorage.setItem('snaptree-theme', theme);
    set({ theme });
  },
  togglePanel(panel) {
    const layout = { ...get().layout, [panel]: isCollapsed(get(), panel) ? 'open' : 'collapsed' } as const;
    saveLayout(layout);
    set({ layout });
  },
  toggleMinimap() {
    const layout = { ...get().layout, minimap: !selectMinimap(get()) };
    saveLayout(layout);
    set({ layout });
  },
  setLegendOpen(legendOpen) {
    set({ legendOpen });
  },
  setWindowWidth(windowWidth) {
    if (windowWidth !== get().windowWidth) set({ windowWidth });
  },
});
