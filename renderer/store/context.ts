/** How components reach the app's store: a React context and the hooks that read it with selectors. */
import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import { useShallow } from 'zustand/react/shallow';
import type { AppState, AppStore } from './store';

export const StoreContext = createContext<AppStore | null>(null);

function useStoreApi(): AppStore {
  const store = useContext(StoreContext);
  if (store === null) throw new Error('useAppStore outside of StoreContext');
  return store;
}

/** Reads one value of the app store with a selector declared at module level (see selectors.ts). */
export function useAppStore<T>(selector: (state: AppState) => T): T {
  return useStore(useStoreApi(), selector);
}

/** Reads an object or array of the store, compared shallowly: a render only when one of its members changes. */
export function useAppShallow<T extends object>(selector: (state: AppState) => T): T {
  return useStore(useStoreApi(), useShallow(selector));
}

/** Reads a group of actions (see selectors.ts); actions never change, so this never causes a render. */
export const useAppActions = useAppShallow;
