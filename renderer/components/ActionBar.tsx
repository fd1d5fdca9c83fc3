import { useMemo, type ReactElement } from 'react';
import type { Domain, ScanResult } from '../../shared/model';
import { nodeActions } from '../../shared/ops/node-actions';
import { snapshotGraph } from '../../shared/snapshot-graph';
import { useAppActions, useAppStore } from '../store/context';
import { selectFileId, selectHealth, selectInspectActions, selectNodeId, selectSecond, selectView } from '../store/selectors';
import { ActionButton } from './ActionButton';
import { fileName } from './format';
import { CompareIcon, HeartIcon } from './Icons';
import { nodeLabel } from './node-label';
import './ActionBar.css';

/** Snapshots or files, and the domain's health check: always at the right of the toolbar. */
function ViewTools({ domain }: { domain: Domain }): ReactElement {
  const view = useAppStore(selectView);
  const { setView, checkHealth: check } = useAppActions(selectInspectActions);
  const health = useAppStore(selectHealth);
  const report = health?.report;
  const sick = report?.layers.filter((l) => l.findings.length > 0).length ?? 0;
  const checking = health?.status === 'loading';
  return (
    <div className="view-tools">
      {report !== undefined && !checking ? (
        <span className={`chip ${sick > 0 ? 'chip-warn' : 'chip-ok'}`} data-testid="health-summary" title={`Checked ${report.layers.length} file(s) of ${domain.name}`}>
          {sick > 0 ? `${sick} file(s) need attention` : `${report.layers.length} files healthy`}
        </span>
      ) : null}
      <button type="button" className="button button-small" disabled={checking} onClick={() => void check()} title="qemu-img check every file of this domain, read-only">
        <HeartIcon /> {checking ? 'Checking…' : 'Check health'}
      </button>
      <div className="segmented" role="group" aria-label="View">
        {(['snapshots', 'files'] as const).map((v) => (
          <button key={v} type="button" className={`segment${view === v ? ' is-active' : ''}`} aria-pressed={view === v} onClick={() => setView(v)} data-testid={`view-${v}`}>
            {v === 'snapshots' ? 'Snapshots' : 'Files'}
          </button>
        ))}
      </div>
    </div>
  );
}

/** The toolbar over the graph: what the selected node allows, disabled with the engine's reason when not. */
export function ActionBar({ scan, domain }: { scan: ScanResult; domain: Domain }): ReactElement {
  const nodeId = useAppStore(selectNodeId);
  const view = useAppStore(selectView);
  const second = useAppStore(selectSecond);
  const { compare, startComparePick: pick } = useAppActions(selectInspectActions);
  const fileId = useAppStore(selectFileId);
  const node = useMemo(() => snapshotGraph(domain).find((n) => n.id === nodeId), [domain, nodeId]);
  const actions = useMemo(() => (node ? nodeActions(scan, domain, node) : []), [scan, domain, node]);
  const fileNode = fileId !== null && domain.layers[fileId] !== undefined ? fileId : null;
  return (
    <div className="action-bar" role="toolbar" aria-label="Actions on the selected node">
      {view === 'files' ? (
        fileNode === null ? (
          <span className="muted small">One box per image file; arrows go from a file to the files built on it. Select a file for its details.</span>
        ) : (
          <>
            <span className="action-bar-node">{fileName(fileNode)}</span>
            <button type="button" className="button button-small" onClick={() => pick(`f:${fileNode}`)}>
              <CompareIcon /> Compare with…
            </button>
          </>
        )
      ) : node === undefined ? (
        <span className="muted small">Select a node for its actions (right click, or Enter on the focused node, opens its menu). Ctrl+click a second node to compare them.</span>
      ) : (
        <>
          <span className="action-bar-node">{node.name}</span>
          {second !== null ? (
            <button type="button" className="button button-small button-primary" onClick={() => void compare(node.id, second)} data-testid="compare-selected">
              <CompareIcon /> Compare with {nodeLabel(domain, second)}
            </button>
          ) : (
            <button type="button" className="button button-small" onClick={() => pick(node.id)}>
              <CompareIcon /> Compare with…
            </button>
          )}
          {actions.map((action) => (
            <ActionButton key={action.id} action={action} label={action.label.replace('…', '')} />
          ))}
        </>
      )}
      <ViewTools domain={domain} />
    </div>
  );
}
