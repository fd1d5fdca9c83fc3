/**
 * The toolbar over the graph, always one row: Take snapshot first, then what the selected node allows (disabled
 * with the engine's reason when not), the health check, and the view switch last. What does not fit the width
 * (measured with a ResizeObserver) moves into a "More ▾" menu, lowest priority first; Take snapshot and the view
 * switch stay. A domain without snapshots gets a hint on the canvas saying what to do.
 */
import { useEffect, useLayoutEffect, useMemo, useRef, useState, type ReactElement, type RefObject } from 'react';
import type { Domain, ScanResult } from '../../shared/model';
import { nodeActions, takeSnapshotAction } from '../../shared/ops/node-actions';
import { snapshotGraph } from '../../shared/snapshot-graph';
import { useAppActions, useAppStore } from '../store/context';
import { selectBusy, selectFileId, selectHealth, selectInspectActions, selectLoadThumbnails, selectNodeId, selectOpsActions, selectSecond, selectTakingSnapshot, selectView, selectCopying } from '../store/selectors';
import { fileName } from './format';
import { CameraIcon, CompareIcon, HeartIcon } from './Icons';
import { nodeLabel } from './node-label';
import { TakeSnapshotDialog } from './TakeSnapshotDialog';
import { CloneDialog } from './CloneDialog';
import { ExportDialog } from './ExportDialog';
import { ToolbarMenu, type MenuEntry } from './ToolbarMenu';
import './ActionBar.css';

/** One thing in the toolbar that may move into the More menu: the higher its priority, the longer it stays. */
interface BarItem extends MenuEntry {
  priority: number;
  side: 'left' | 'right';
  /** The toolbar's element; `measuring`: the hidden copy that is measured, without test ids. */
  element: (measuring: boolean) => ReactElement;
}

/** A toolbar button item from its menu entry. */
function buttonItem(entry: MenuEntry & { priority: number; side?: 'left' | 'right'; icon?: ReactElement; className?: string; testId?: string; tip?: string }): BarItem {
  const { icon, className = '', testId, tip, side = 'left', ...rest } = entry;
  return {
    ...rest,
    side,
    element: (measuring) => (
      <button
        type="button"
        className={`button button-small${entry.danger === true ? ' button-danger-outline' : ''} ${className}`}
        disabled={entry.disabled != null}
        title={entry.disabled ?? tip}
        onClick={entry.onSelect}
        data-testid={measuring ? undefined : testId}
        tabIndex={measuring ? -1 : undefined}
      >
        {icon}
        {icon === undefined ? null : ' '}
        {entry.text}
      </button>
    ),
  };
}

/** A line of text in the toolbar (the selected node's name, the health summary): in the menu, a line too. */
function textItem(key: string, text: string, priority: number, side: 'left' | 'right', render: (measuring: boolean) => ReactElement): BarItem {
  return { key, text, priority, side, element: render };
}

/** The health summary and the Check health button (right side). */
function useHealthItems(domain: Domain): BarItem[] {
  const { checkHealth: check } = useAppActions(selectInspectActions);
  const health = useAppStore(selectHealth);
  const report = health?.report;
  const checking = health?.status === 'loading';
  const sick = report?.layers.filter((l) => l.findings.length > 0).length ?? 0;
  const items: BarItem[] = [];
  if (report !== undefined && !checking) {
    const text = sick === 1 ? '1 file needs attention' : sick > 1 ? `${sick} files need attention` : report.layers.length === 1 ? '1 file healthy' : `${report.layers.length} files healthy`;
    items.push(
      textItem('health-summary', text, 20, 'right', (measuring) => (
        <span className={`chip ${sick > 0 ? 'chip-warn' : 'chip-ok'}`} data-testid={measuring ? undefined : 'health-summary'} title={`Checked ${report.layers.length === 1 ? '1 file' : `${report.layers.length} files`} of ${domain.name}`}>
          {text}
        </span>
      )),
    );
  }
  items.push(
    buttonItem({ key: 'check-health', text: checking ? 'Checking…' : 'Check health', priority: 45, side: 'right', icon: <HeartIcon />, disabled: checking ? 'A check is running' : null, onSelect: () => void check(), tip: 'qemu-img check every file of this domain, read-only' }),
  );
  return items;
}

/** What the selected node (or file) allows, as toolbar items; a hint instead when nothing is selected. */
function useNodeItems(scan: ScanResult, domain: Domain): { items: BarItem[]; hint: string | null } {
  const nodeId = useAppStore(selectNodeId);
  const view = useAppStore(selectView);
  const second = useAppStore(selectSecond);
  const fileId = useAppStore(selectFileId);
  const { compare, startComparePick: pick } = useAppActions(selectInspectActions);
  const { startAction: start } = useAppActions(selectOpsActions);
  const node = useMemo(() => snapshotGraph(domain).find((n) => n.id === nodeId), [domain, nodeId]);
  const actions = useMemo(() => (node ? nodeActions(scan, domain, node) : []), [scan, domain, node]);
  if (view === 'files') {
    const file = fileId !== null && domain.layers[fileId] !== undefined ? fileId : null;
    if (file === null) return { items: [], hint: 'One box per image file; arrows go from a file to the files built on it. Select a file for its details.' };
    return {
      items: [
        textItem('node', fileName(file), 35, 'left', () => <span className="action-bar-node">{fileName(file)}</span>),
        buttonItem({ key: 'compare', text: 'Compare with…', priority: 40, icon: <CompareIcon />, onSelect: () => pick(`f:${file}`) }),
      ],
      hint: null,
    };
  }
  if (node === undefined) return { items: [], hint: 'Select a node for its actions (right click, or Enter on the focused node, opens its menu). Ctrl+click a second node to compare them.' };
  const compareItem =
    second !== null
      ? buttonItem({ key: 'compare', text: `Compare with ${nodeLabel(domain, second)}`, priority: 45, icon: <CompareIcon />, className: 'button-primary', testId: 'compare-selected', onSelect: () => void compare(node.id, second) })
      : buttonItem({ key: 'compare', text: 'Compare with…', priority: 40, icon: <CompareIcon />, onSelect: () => pick(node.id) });
  return {
    items: [
      textItem('node', node.name, 35, 'left', () => <span className="action-bar-node">{node.name}</span>),
      compareItem,
      // Taking a snapshot has its own button at the start of the toolbar.
      ...actions
        .filter((a) => a.id !== 'create-snapshot')
        .map((action, i) => buttonItem({ key: action.id, text: action.label.replace('…', ''), priority: (action.danger ? 30 : 50) - i, danger: action.danger, disabled: action.disabled, onSelect: () => start(action) })),
    ],
    hint: null,
  };
}

/** Gap between toolbar items, as in ActionBar.css. */
const GAP = 6;

/**
 * Which items stay in the row: all when they fit in `width` beside the fixed parts, otherwise the highest
 * priorities that fit beside the More button too. Widths not measured yet count as fitting.
 */
function fitting(items: BarItem[], widths: Record<string, number>, fixed: number, more: number, width: number | null): Set<string> {
  const all = new Set(items.map((i) => i.key));
  if (width === null) return all;
  const sizeOf = (i: BarItem) => (widths[i.key] ?? 0) + GAP;
  const total = items.reduce((sum, i) => sum + sizeOf(i), 0);
  if (fixed + total <= width) return all;
  let room = width - fixed - more - GAP;
  const kept = new Set<string>();
  for (const item of [...items].sort((a, b) => b.priority - a.priority)) {
    if (sizeOf(item) > room) break;
    room -= sizeOf(item);
    kept.add(item.key);
  }
  return kept;
}

/** What the fit is computed from: the toolbar's content width, each item's, the fixed parts' and the More button's. */
interface Sizes {
  width: number | null;
  widths: Record<string, number>;
  fixed: number;
  more: number;
}

/** Reads the sizes off the page: the hidden copies of the items carry their keys (`data-key`). */
function readSizes(bar: HTMLElement, measure: HTMLElement, fixedRefs: Array<RefObject<HTMLElement | null>>): Sizes {
  const style = getComputedStyle(bar);
  const width = bar.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const widths: Record<string, number> = {};
  for (const slot of Array.from(measure.querySelectorAll<HTMLElement>('[data-key]'))) widths[slot.dataset.key ?? ''] = slot.offsetWidth;
  const more = measure.querySelector<HTMLElement>('[data-more]')?.offsetWidth ?? 0;
  const fixed = fixedRefs.reduce((sum, ref) => sum + (ref.current?.offsetWidth ?? 0) + GAP, 0);
  return { width, widths, fixed, more };
}

/**
 * Follows the sizes with one ResizeObserver on the toolbar (the window, the panels) and on the row of hidden copies
 * (whose width changes when the items or their words do).
 */
function useSizes(bar: RefObject<HTMLElement | null>, measure: RefObject<HTMLElement | null>, fixedRefs: Array<RefObject<HTMLElement | null>>): Sizes {
  const [sizes, setSizes] = useState<Sizes>({ width: null, widths: {}, fixed: 0, more: 0 });
  const [take, views] = fixedRefs;
  useLayoutEffect(() => {
    const element = bar.current;
    const copies = measure.current;
    if (element === null || copies === null || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(() => setSizes(readSizes(element, copies, [take ?? { current: null }, views ?? { current: null }])));
    observer.observe(element);
    observer.observe(copies);
    return () => observer.disconnect();
  }, [bar, measure, take, views]);
  return sizes;
}

/** Snapshots or files: always the last thing in the toolbar. */
function ViewSwitch({ innerRef, folder }: { innerRef: RefObject<HTMLDivElement | null>; folder: boolean }): ReactElement {
  const view = useAppStore(selectView);
  const { setView } = useAppActions(selectInspectActions);
  return (
    <div className="segmented" role="group" aria-label="View" ref={innerRef}>
      {(['snapshots', 'files'] as const).map((v) => (
        <button key={v} type="button" className={`segment${view === v ? ' is-active' : ''}`} aria-pressed={view === v} onClick={() => setView(v)} data-testid={`view-${v}`}>
          {v === 'files' ? 'Files' : folder ? 'Images' : 'Snapshots'}
        </button>
      ))}
    </div>
  );
}

/** The hint on the canvas of a domain without snapshots: what a snapshot is for, and the button that takes one. */
function EmptyHint({ onTake, disabled }: { onTake: () => void; disabled: string | null }): ReactElement {
  return (
    <div className="empty-snapshots" data-testid="empty-hint">
      <p>
        <strong>No snapshots yet.</strong> Take snapshot saves this disk state so you can come back to it.
      </p>
      <button type="button" className="button button-primary" onClick={onTake} disabled={disabled !== null} title={disabled ?? undefined}>
        <CameraIcon /> Take snapshot
      </button>
    </div>
  );
}

/** The toolbar over the graph (see the module comment), the Take snapshot dialog, and the empty domain's hint. */
export function ActionBar({ scan, domain }: { scan: ScanResult; domain: Domain }): ReactElement {
  const { openTakeSnapshot } = useAppActions(selectOpsActions);
  const taking = useAppStore(selectTakingSnapshot);
  const busy = useAppStore(selectBusy);
  const folder = domain.state === 'folder';
  const loadThumbnails = useAppStore(selectLoadThumbnails);
  // The nodes show the screens kept with their snapshots: asked for once per snapshot, in one call.
  useEffect(() => {
    if (!folder) void loadThumbnails(domain.name, domain.snapshots);
  }, [folder, loadThumbnails, domain.name, domain.snapshots]);
  const snapshotAction = useMemo(() => (folder ? null : takeSnapshotAction(scan, domain)), [scan, domain, folder]);
  const takeDisabled = busy ? 'An operation is running.' : (snapshotAction?.disabled ?? null);
  const { items: nodeItems, hint } = useNodeItems(scan, domain);
  const items = [...nodeItems, ...useHealthItems(domain)];
  const bar = useRef<HTMLDivElement>(null);
  const measure = useRef<HTMLDivElement>(null);
  const take = useRef<HTMLButtonElement>(null);
  const views = useRef<HTMLDivElement>(null);
  const { width, widths, fixed, more } = useSizes(bar, measure, [take, views]);
  const kept = fitting(items, widths, fixed, more, width);
  const overflow = items.filter((i) => !kept.has(i.key));
  const shown = (side: 'left' | 'right') => items.filter((i) => i.side === side && kept.has(i.key)).map((i) => <ItemSlot key={i.key} item={i} />);
  return (
    <>
      <div className="action-bar" role="toolbar" aria-label="Actions" ref={bar} data-testid="action-bar">
        {snapshotAction === null ? null : (
          <button
            type="button"
            ref={take}
            className={`button button-small${domain.snapshots.length === 0 ? ' button-primary' : ''}`}
            disabled={takeDisabled !== null}
            title={takeDisabled ?? `Take a snapshot of ${domain.name}`}
            onClick={() => openTakeSnapshot()}
            data-testid="take-snapshot"
          >
            <CameraIcon /> Take snapshot
          </button>
        )}
        {shown('left')}
        <span className="action-bar-hint muted small" title={hint ?? undefined}>
          {hint}
        </span>
        {shown('right')}
        {overflow.length > 0 ? <ToolbarMenu entries={overflow} /> : null}
        <ViewSwitch innerRef={views} folder={domain.state === 'folder'} />
        <div className="action-bar-measure" ref={measure} aria-hidden="true">
          {items.map((i) => (
            <MeasureSlot key={i.key} item={i} />
          ))}
          <button type="button" className="button button-small" tabIndex={-1} data-more="">
            More <span>▾</span>
          </button>
        </div>
      </div>
      {taking && snapshotAction !== null ? <TakeSnapshotDialog scan={scan} domain={domain} /> : null}
      <CopyDialog scan={scan} domain={domain} />
      {domain.snapshots.length === 0 && !folder ? <EmptyHint onTake={openTakeSnapshot} disabled={takeDisabled} /> : null}
    </>
  );
}

/** The Clone or Export dialog, while the store holds the node menu's action for one (ops-slice.ts, startAction). */
function CopyDialog({ scan, domain }: { scan: ScanResult; domain: Domain }): ReactElement | null {
  const copying = useAppStore(selectCopying);
  if (copying === null) return null;
  const base = copying.action.intent(copying.action.asks?.suggestion ?? '');
  if (base.domain !== domain.name) return null;
  // A Back from the preview brings the dialog back with what was typed (copying.draft).
  if (base.op === 'clone' && copying.kind === 'clone') return <CloneDialog scan={scan} domain={domain} action={copying.action} base={base} draft={copying.draft} />;
  if (base.op === 'export' && copying.kind === 'export') return <ExportDialog domain={domain} action={copying.action} base={base} draft={copying.draft} />;
  return null;
}

function ItemSlot({ item }: { item: BarItem }): ReactElement {
  return item.element(false);
}

function MeasureSlot({ item }: { item: BarItem }): ReactElement {
  return (
    <span className="action-bar-slot" data-key={item.key}>
      {item.element(true)}
    </span>
  );
}
