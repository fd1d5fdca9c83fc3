import { useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent, type ReactElement, type RefObject } from 'react';
import type { Domain, ScanResult } from '../../shared/model';
import { nodeActions, type NodeAction } from '../../shared/ops/node-actions';
import { snapshotGraph } from '../../shared/snapshot-graph';
import { useFocusReturn } from '../graph/keep-focus';
import type { AppState } from '../store/store';
import { useAppActions, useAppStore } from '../store/context';
import { selectInspectActions, selectMenu, selectOpsActions } from '../store/selectors';
import './NodeMenu.css';

/** The menu's one entry that is no operation: it opens a comparison, not a plan. */
const COMPARE_KEY = 'k';

/** The menu of a node (right click, or the menu key on the focused node): what it allows, and why not. */
export function NodeMenu({ scan, domain }: { scan: ScanResult; domain: Domain }): ReactElement | null {
  const menu = useAppStore(selectMenu);
  if (menu === null) return null;
  return <MenuList key={`${menu.nodeId}@${menu.x},${menu.y}`} scan={scan} domain={domain} menu={menu} />;
}

/** Arrow keys move through the items, Enter or Space chooses, a letter chooses its item, Esc closes. */
function useMenuKeys(actions: NodeAction[], choose: (index: number) => void, close: () => void) {
  // The item Enter chooses at first is never a destructive one: the first safe action, else Compare with….
  const [active, setActive] = useState(() => {
    const safe = actions.findIndex((a) => a.disabled === null && !a.danger);
    return safe === -1 ? actions.length : safe;
  });
  const count = actions.length + 1;
  const onKeyDown = (event: KeyboardEvent) => {
    event.stopPropagation();
    if (event.key === 'Escape') close();
    else if (event.key === 'ArrowDown') setActive((i) => (i + 1) % count);
    else if (event.key === 'ArrowUp') setActive((i) => (i - 1 + count) % count);
    else if (event.key === 'Enter' || event.key === ' ') choose(active);
    else {
      const index = event.key.toLowerCase() === COMPARE_KEY ? actions.length : actions.findIndex((a) => a.key === event.key.toLowerCase());
      if (index !== -1) choose(index);
      else return;
    }
    event.preventDefault();
  };
  return { active, setActive, onKeyDown };
}

/** One operation of the menu, disabled with the engine's reason when it cannot run. */
function MenuItem({ action, active, onHover, onChoose }: { action: NodeAction; active: boolean; onHover: () => void; onChoose: () => void }): ReactElement {
  return (
    <button
      type="button"
      role="menuitem"
      className={`node-menu-item${active ? ' is-active' : ''}${action.danger ? ' is-danger' : ''}`}
      aria-disabled={action.disabled !== null}
      title={action.disabled === null ? undefined : [action.disabled, ...(action.reasonList ?? [])].join('\n')}
      onMouseEnter={onHover}
      onClick={onChoose}
    >
      <span>{action.label}</span>
      <kbd>{action.key.toUpperCase()}</kbd>
      {action.disabled !== null ? <span className="node-menu-reason">{action.disabled}</span> : null}
    </button>
  );
}

/** How far from the window's edges a menu stays. */
const EDGE = 8;

/**
 * Where the menu opened at (x, y) goes so that it stays inside the window: moved left or up by what would stick out
 * (a menu taller than the window scrolls inside, see NodeMenu.css).
 */
function useOnScreen(ref: RefObject<HTMLDivElement | null>, x: number, y: number): { x: number; y: number } {
  const [place, setPlace] = useState({ x, y });
  useLayoutEffect(() => {
    const box = ref.current?.getBoundingClientRect();
    if (box === undefined) return;
    const dx = box.right > window.innerWidth - EDGE ? box.right - (window.innerWidth - EDGE) : box.left < EDGE ? box.left - EDGE : 0;
    const dy = box.bottom > window.innerHeight - EDGE ? box.bottom - (window.innerHeight - EDGE) : box.top < EDGE ? box.top - EDGE : 0;
    if (dx !== 0 || dy !== 0) setPlace({ x: x - dx, y: y - dy });
  }, [ref, x, y]);
  return place;
}

function MenuList({ scan, domain, menu }: { scan: ScanResult; domain: Domain; menu: NonNullable<AppState['menu']> }): ReactElement | null {
  const { closeMenu: close, startAction: start } = useAppActions(selectOpsActions);
  const { startComparePick: pick } = useAppActions(selectInspectActions);
  const node = useMemo(() => snapshotGraph(domain).find((n) => n.id === menu.nodeId), [domain, menu]);
  const actions = useMemo(() => (node ? nodeActions(scan, domain, node) : []), [scan, domain, node]);
  const choose = (index: number) => {
    if (node === undefined) return;
    if (index === actions.length) return pick(node.id);
    const action = actions[index];
    if (action !== undefined && action.disabled === null) start(action);
  };
  const { active, setActive, onKeyDown } = useMenuKeys(actions, choose, close);
  const list = useRef<HTMLDivElement>(null);
  useFocusReturn(node !== undefined, list);
  const place = useOnScreen(list, menu.x, menu.y);

  useEffect(() => {
    list.current?.focus();
  }, []);

  if (node === undefined) return null;
  return (
    <>
      <div className="menu-backdrop" onClick={close} onContextMenu={(e) => (e.preventDefault(), close())} />
      <div
        className="node-menu"
        role="menu"
        aria-label={`Actions for ${node.name}`}
        style={{ left: place.x, top: place.y }}
        ref={list}
        tabIndex={-1}
        onKeyDown={onKeyDown}
        data-testid="node-menu"
      >
        <div className="node-menu-title">{node.name}</div>
        {actions.map((action, i) => (
          <MenuItem key={action.id} action={action} active={i === active} onHover={() => setActive(i)} onChoose={() => choose(i)} />
        ))}
        <div className="node-menu-separator" role="separator" />
        <button
          type="button"
          role="menuitem"
          className={`node-menu-item${active === actions.length ? ' is-active' : ''}`}
          onMouseEnter={() => setActive(actions.length)}
          onClick={() => choose(actions.length)}
        >
          <span>Compare with…</span>
          <kbd>{COMPARE_KEY.toUpperCase()}</kbd>
        </button>
      </div>
    </>
  );
}
