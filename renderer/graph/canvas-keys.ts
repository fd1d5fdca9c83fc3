/** Binds the canvases' one keymap (keymap.ts) to a canvas: each canvas says what each action does there. */
import type { KeyboardEvent } from 'react';
import { canvasAction, type CanvasKeyState, type Direction } from './keymap';

export interface CanvasKeyHandlers {
  closeMenu(): void;
  cancelPick(): void;
  closeComparison(): void;
  clearSelection(): void;
  move(direction: Direction): void;
  home(): void;
  end(): void;
  compare(): void;
  openMenu(): void;
  switchView(): void;
  fit(): void;
  /** PageUp and PageDown, the search box and the menu's letters: on the canvases that have them. */
  page?(step: 1 | -1): void;
  search?(): void;
  nodeAction?(key: string): void;
}

/** Typing in a field on the canvas (the search box) is the field's, not the canvas's. */
const typing = (target: EventTarget): boolean => target instanceof HTMLElement && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));

/** The canvas's key handler: the keymap's action for the key, done by the canvas's handlers. */
export function canvasKeyDown(state: CanvasKeyState, handlers: CanvasKeyHandlers): (event: KeyboardEvent<HTMLElement>) => void {
  return (event) => {
    if (typing(event.target)) return;
    const action = canvasAction(event, state);
    if (action === null) return;
    event.preventDefault();
    switch (action.type) {
      case 'close-menu':
        return handlers.closeMenu();
      case 'cancel-pick':
        return handlers.cancelPick();
      case 'close-comparison':
        return handlers.closeComparison();
      case 'clear-selection':
        return handlers.clearSelection();
      case 'move':
        return handlers.move(action.direction);
      case 'home':
        return handlers.home();
      case 'end':
        return handlers.end();
      case 'compare':
        return handlers.compare();
      case 'open-menu':
        return handlers.openMenu();
      case 'switch-view':
        return handlers.switchView();
      case 'fit':
        return handlers.fit();
      case 'page':
        return handlers.page?.(action.step);
      case 'search':
        return handlers.search?.();
      case 'node-action':
        return handlers.nodeAction?.(action.key);
    }
  };
}
