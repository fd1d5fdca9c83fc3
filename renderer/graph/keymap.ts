/**
 * The one keymap of both canvases (snapshots and files): a pure function from a key and the canvas's state to
 * what the key does, so both views answer the same keys the same way. Esc steps back one thing at a time, in
 * one order: the node menu, then a pending "Compare with…" pick, then an open comparison, then the selection.
 */

export type Direction = 'left' | 'right' | 'up' | 'down';

export type CanvasAction =
  | { type: 'close-menu' }
  | { type: 'cancel-pick' }
  | { type: 'close-comparison' }
  | { type: 'clear-selection' }
  | { type: 'move'; direction: Direction }
  /** Home: to You are here (the node or file the VM runs on). */
  | { type: 'home' }
  /** End: to the last node in reading order. */
  | { type: 'end' }
  /** Enter while picking: compare the pick with the selection. */
  | { type: 'compare' }
  | { type: 'open-menu' }
  | { type: 'switch-view' }
  | { type: 'fit' };

export interface CanvasKeyState {
  /** The node menu is open. */
  menuOpen: boolean;
  /** "Compare with…" waits for the other side. */
  picking: boolean;
  /** The selection can be that other side. */
  canCompare: boolean;
  /** A comparison is open. */
  comparing: boolean;
  /** A node (or file) is selected. */
  selected: boolean;
  /** The canvas has a node menu (the snapshot graph has; the file view has not). */
  hasMenu: boolean;
}

export interface KeyPress {
  key: string;
  shiftKey?: boolean;
  ctrlKey?: boolean;
  altKey?: boolean;
  metaKey?: boolean;
}

const ARROWS: Record<string, Direction> = { ArrowLeft: 'left', ArrowRight: 'right', ArrowUp: 'up', ArrowDown: 'down' };

/** Esc: the innermost thing open goes first. */
function escape(state: CanvasKeyState): CanvasAction | null {
  if (state.menuOpen) return { type: 'close-menu' };
  if (state.picking) return { type: 'cancel-pick' };
  if (state.comparing) return { type: 'close-comparison' };
  if (state.selected) return { type: 'clear-selection' };
  return null;
}

/** Enter (and the menu keys): compare when picking, else the selected node's menu. */
function enter(press: KeyPress, state: CanvasKeyState): CanvasAction | null {
  if (press.key === 'Enter' && state.picking) return state.canCompare ? { type: 'compare' } : null;
  return state.hasMenu && state.selected ? { type: 'open-menu' } : null;
}

/** What a key does on a canvas in this state; null when the canvas leaves it alone. */
export function canvasAction(press: KeyPress, state: CanvasKeyState): CanvasAction | null {
  // Shortcuts of the browser and the system stay theirs.
  if (press.ctrlKey === true || press.altKey === true || press.metaKey === true) return null;
  const direction = ARROWS[press.key];
  if (direction !== undefined) return { type: 'move', direction };
  if (press.key === 'F10') return press.shiftKey === true ? enter(press, state) : null;
  switch (press.key) {
    case 'Escape':
      return escape(state);
    case 'Enter':
    case 'ContextMenu':
      return enter(press, state);
    case 'Home':
      return { type: 'home' };
    case 'End':
      return { type: 'end' };
  }
  switch (press.key.toLowerCase()) {
    case 'm':
      return enter(press, state);
    case 'v':
      return { type: 'switch-view' };
    case 'f':
    case '0':
      return { type: 'fit' };
  }
  return null;
}
