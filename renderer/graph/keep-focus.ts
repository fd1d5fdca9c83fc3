/**
 * The keyboard never falls to the page: what takes it for a while (the node menu, the plan dialog) gives it back
 * when it goes, and a canvas that replaces the other one (V switches views) takes it when the other had it, so
 * the next key still does what the one keymap says (keymap.ts).
 */
import { useLayoutEffect, type RefObject } from 'react';

/** The canvas on the page, the fallback when what had the keyboard before is gone. */
const canvasOnPage = (): HTMLElement | null => document.querySelector<HTMLElement>('.graph-canvas');

/**
 * While `open`, remembers what had the keyboard before; when it closes, gives it back (or to the canvas when that
 * is gone), unless the user has put the keyboard somewhere else meanwhile.
 */
export function useFocusReturn(open: boolean, ref: RefObject<HTMLElement | null>): void {
  useLayoutEffect(() => {
    if (!open) return;
    const before = document.activeElement;
    const element = ref.current;
    return () => {
      const now = document.activeElement;
      const lost = now === null || now === document.body || (element?.contains(now) ?? false);
      if (!lost) return;
      const back = before instanceof HTMLElement && before !== document.body && before.isConnected && !(element?.contains(before) ?? false) ? before : null;
      (back ?? canvasOnPage())?.focus();
    };
  }, [open, ref]);
}

/** Whether the canvas that just went had the keyboard: the one that comes next takes it. */
let canvasHadFocus = false;

/** A canvas passes the keyboard on to the canvas that replaces it (the snapshot graph and the file view). */
export function useCanvasFocusCarry(wrapper: RefObject<HTMLElement | null>): void {
  useLayoutEffect(() => {
    const element = wrapper.current;
    if (canvasHadFocus) element?.focus();
    canvasHadFocus = false;
    return () => {
      canvasHadFocus = element?.contains(document.activeElement) ?? false;
    };
  }, [wrapper]);
}
