/**
 * One keyboard contract for every dialog (the plan preview, name prompts, any modal): it takes the keyboard when
 * it opens, on its first useful control (never a destructive Confirm), Tab and Shift+Tab stay inside it, Esc
 * cancels it (never confirms), and when it closes the keyboard goes back to what opened it, or to the canvas when
 * that is gone (renderer/graph/keep-focus.ts).
 */
import { useEffect, useLayoutEffect, useRef, type RefObject } from 'react';

/** What can take the keyboard inside a dialog, in document order. */
const FOCUSABLE = 'button, [href], input, select, textarea, summary, [tabindex]:not([tabindex="-1"])';

/** The controls of `root` that Tab can reach now: enabled, shown and not taken out of the order. */
export function tabStops(root: HTMLElement): HTMLElement[] {
  return Array.from(root.querySelectorAll<HTMLElement>(FOCUSABLE)).filter((el) => {
    if (el.tabIndex < 0 || el.hasAttribute('disabled') || el.closest('[inert]') !== null) return false;
    // A control inside a closed <details> is not shown (its summary is).
    const closed = el.closest('details:not([open])');
    if (closed !== null && el.tagName !== 'SUMMARY') return false;
    return el.getClientRects().length > 0;
  });
}

/** Moves the keyboard one stop on inside `root`, wrapping at either end; false when nothing there takes it. */
function trapTab(root: HTMLElement, event: KeyboardEvent): void {
  const stops = tabStops(root);
  const first = stops[0];
  const last = stops[stops.length - 1];
  if (first === undefined || last === undefined) {
    event.preventDefault();
    root.focus();
    return;
  }
  const at = document.activeElement;
  const inside = at instanceof HTMLElement && root.contains(at) && at !== root;
  if (event.shiftKey && (!inside || at === first)) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && (!inside || at === last)) {
    event.preventDefault();
    first.focus();
  }
}

/** The canvas on the page, where the keyboard goes when what opened a dialog is gone. */
const canvasOnPage = (): HTMLElement | null => document.querySelector<HTMLElement>('.graph-canvas, .file-canvas');

export interface DialogFocusOptions {
  /** Whether the dialog is shown. */
  open: boolean;
  /** Cancels the dialog: Esc calls it. */
  onCancel: () => void;
  /** The control to start on, when the dialog has a better one than its first; null falls back to the first stop. */
  initial?: () => HTMLElement | null;
}

/**
 * Gives the dialog at `ref` the keyboard while `open` (see the module comment). `initial` runs when the dialog
 * opens and each time it returns something else later (a Confirm that becomes ready).
 */
export function useDialogFocus(ref: RefObject<HTMLElement | null>, { open, onCancel, initial }: DialogFocusOptions): void {
  const cancel = useRef(onCancel);
  const start = useRef(initial);
  useLayoutEffect(() => {
    cancel.current = onCancel;
    start.current = initial;
  });

  // Take the keyboard on opening; give it back on closing.
  useLayoutEffect(() => {
    if (!open) return;
    const before = document.activeElement;
    const root = ref.current;
    if (root !== null && !root.contains(document.activeElement)) (start.current?.() ?? tabStops(root)[0] ?? root).focus();
    return () => {
      const now = document.activeElement;
      const lost = now === null || now === document.body || (root?.contains(now) ?? false) || !(now?.isConnected ?? false);
      if (!lost) return;
      const back = before instanceof HTMLElement && before !== document.body && before.isConnected && !(root?.contains(before) ?? false) ? before : null;
      (back ?? canvasOnPage())?.focus();
    };
  }, [open, ref]);

  // Tab stays inside; Esc cancels. Listened to on the dialog itself, so no key reaches the graph's keymap.
  useEffect(() => {
    const root = ref.current;
    if (!open || root === null) return;
    const onKey = (event: KeyboardEvent): void => {
      if (event.key === 'Tab') trapTab(root, event);
      else if (event.key === 'Escape') {
        event.preventDefault();
        event.stopPropagation();
        cancel.current();
      }
    };
    root.addEventListener('keydown', onKey);
    return () => root.removeEventListener('keydown', onKey);
  }, [open, ref]);
}
