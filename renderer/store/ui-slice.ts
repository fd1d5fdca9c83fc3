/** Look and feel: the light or dark theme, kept in local storage. */
import type { StateCreator } from 'zustand';
import type { AppState } from './store';

export type Theme = 'light' | 'dark';

export interface UiSlice {
  theme: Theme;
  toggleTheme(): void;
}

function initialTheme(): Theme {
  const saved = typeof localStorage !== 'undefined' ? localStorage.getItem('snaptree-theme') : null;
  if (saved === 'light' || saved === 'dark') return saved;
  return typeof matchMedia !== 'undefined' && matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

/** The theme slice: the saved theme, else the system's. */
export const createUiSlice: StateCreator<AppState, [], [], UiSlice> = (set, get) => ({
  theme: initialTheme(),
  toggleTheme() {
    const theme = get().theme === 'dark' ? 'light' : 'dark';
    localStorage.setItem('snaptree-theme', theme);
    set({ theme });
  },
});
