/**
 * The toolbar's "More ▾" menu: the actions that do not fit in its one row. A menu button as WAI-ARIA describes
 * it: Enter, Space or ArrowDown opens it on its first item, ArrowUp on its last; arrows, Home and End move; Enter
 * chooses; Esc or Tab closes it, and Esc gives the keyboard back to the button.
 */
import { useEffect, useRef, useState, type KeyboardEvent, type ReactElement } from 'react';

/** One entry of the menu: an action, or a line of text (a node's name, a health summary). */
export interface MenuEntry {
  key: string;
  text: string;
  /** Absent: a line of text, not an item. */
  onSelect?: () => void;
  /** Why it cannot be chosen; null or absent when it can. */
  disabled?: string | null;
  danger?: boolean;
}

/** Moves the keyboard to item `index` of the open menu (wrapping around). */
function focusItem(menu: HTMLElement | null, index: number): void {
  const items = menu === null ? [] : Array.from(menu.querySelectorAll<HTMLElement>('[role="menuitem"]'));
  if (items.length === 0) return;
  items[((index % items.length) + items.length) % items.length]?.focus();
}

/** Where the keyboard is among the menu's items, or -1. */
function focusedIndex(menu: HTMLElement | null): number {
  const items = menu === null ? [] : Array.from(menu.querySelectorAll<HTMLElement>('[role="menuitem"]'));
  return items.findIndex((el) => el === document.activeElement);
}

/** The key handling inside the open menu. */
function onMenuKey(e: KeyboardEvent, menu: HTMLElement | null, close: (refocus: boolean) => void): void {
  const at = focusedIndex(menu);
  const moves: Record<string, number> = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: -1 };
  const to = moves[e.key];
  if (to !== undefined) {
    e.preventDefault();
    focusItem(menu, to);
  } else if (e.key === 'Escape') {
    e.preventDefault();
    e.stopPropagation();
    close(true);
  } else if (e.key === 'Tab') {
    close(false);
  }
}

export function ToolbarMenu({ entries, label = 'More' }: { entries: MenuEntry[]; label?: string }): ReactElement {
  const [open, setOpen] = useState<'first' | 'last' | null>(null);
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLDivElement>(null);
  const close = (refocus: boolean) => {
    setOpen(null);
    if (refocus) button.current?.focus();
  };
  useEffect(() => {
    if (open === null) return;
    focusItem(menu.current, open === 'first' ? 0 : -1);
    const outside = (e: PointerEvent) => {
      const target = e.target instanceof Node ? e.target : null;
      if (!menu.current?.contains(target) && !button.current?.contains(target)) setOpen(null);
    };
    document.addEventListener('pointerdown', outside);
    return () => document.removeEventListener('pointerdown', outside);
  }, [open]);
  return (
    <div className="toolbar-menu">
      <button
        type="button"
        ref={button}
        className="button button-small"
        aria-haspopup="menu"
        aria-expanded={open !== null}
        data-testid="toolbar-more"
        onClick={() => setOpen((o) => (o === null ? 'first' : null))}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
            e.preventDefault();
            setOpen(e.key === 'ArrowDown' ? 'first' : 'last');
          }
        }}
      >
        {label} <span aria-hidden="true">▾</span>
      </button>
      {open !== null ? (
        <div className="toolbar-menu-list" role="menu" aria-label={`${label} actions`} ref={menu} onKeyDown={(e) => onMenuKey(e, menu.current, close)} data-testid="toolbar-menu">
          {entries.map((entry) =>
            entry.onSelect === undefined ? (
              <div key={entry.key} className="toolbar-menu-note" role="presentation">
                {entry.text}
              </div>
            ) : (
              <button
                key={entry.key}
                type="button"
                role="menuitem"
                tabIndex={-1}
                className={`toolbar-menu-item${entry.danger === true ? ' is-danger' : ''}`}
                aria-disabled={entry.disabled != null}
                title={entry.disabled ?? undefined}
                onClick={() => {
                  if (entry.disabled != null) return;
                  close(true);
                  entry.onSelect?.();
                }}
              >
                {entry.text}
              </button>
            ),
          )}
        </div>
      ) : null}
    </div>
  );
}
