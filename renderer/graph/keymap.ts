/**
 * The one keymap of both canvases (snapshots and files): a pure function from a key and the canvas's state to
 * what the key does, so both views answer the same keys the same way. Esc steps back one thing at a time, in
 * one order: the node menu, then a pending "Compare with…" pick, then an open comparison, then the selection.
 * Home, End, PageUp and PageDown move along a branch (branch-walk.ts); Ctrl+F and / go to the search box; the
 * letters of the node menu's actions (shared/ops/node-actions.ts) open that action on the selected node.
 */

export type Direction = 'left' | 'right' | 'up' | 'down';

export type CanvasAction =
  | { type: 'close-menu' }
  | { type: 'cancel-pick' }
  | { type: 'close-comparison' }
  | { type: 'clear-selection' }
  | { type: 'move'; direction: Direction }
  /** Home: to the root of the selected node's tree. */
  | { type: 'home' }
  /** End: to the tip of the selected node's branch, or to You are here when nothing is selected. */
  | { type: 'end' }
  /** PageUp (-1) and PageDown (1): a page of nodes along the branch. */
  | { type: 'page'; step: 1 | -1 }
  /** Ctrl+F or /: to the search box. */
  | { type: 'search' }
  /** A letter of the node menu: that action on the selected node, as its menu item would. */
  | { type: 'node-action'; key: string }
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
  if ((press.ctrlKey === true || press.metaKey === true) && press.altKey !== true && press.key.toLowerCase() === 'f') return state.hasMenu ? { type: 'search' } : null;
  // Other shortcuts of the browser and the system stay theirs.
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
    case 'PageUp':
      return { type: 'page', step: -1 };
    case 'PageDown':
      return { type: 'page', step: 1 };
    case '/':
      return state.hasMenu ? { type: 'search' } : null;
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
  return letter(press, state);
}

/** A letter on the selected node, while no menu is open: the node menu's item with that key. */
function letter(press: KeyPress, state: CanvasKeyState): CanvasAction | null {
  if (!/^[a-z]$/i.test(press.key) || !state.hasMenu || !state.selected || state.menuOpen) return null;
  return { type: 'node-action', key: press.key.toLowerCase() };
}
