import { useMemo, type ReactElement } from 'react';
import type { Domain, ScanResult } from '../../shared/model';
import { nodeActions } from '../../shared/ops/node-actions';
import { snapshotGraph } from '../../shared/snapshot-graph';
import { useAppStore } from '../store/context';
import { selectNodeId } from '../store/selectors';
import type { AppState } from '../store/store';

const selectStart = (s: AppState) => s.startAction;

/** The toolbar over the graph: what the selected node allows, disabled with the engine's reason when not. */
export function ActionBar({ scan, domain }: { scan: ScanResult; domain: Domain }): ReactElement {
  const nodeId = useAppStore(selectNodeId);
  const start = useAppStore(selectStart);
  const node = useMemo(() => snapshotGraph(domain).find((n) => n.id === nodeId), [domain, nodeId]);
  const actions = useMemo(() => (node ? nodeActions(scan, domain, node) : []), [scan, domain, node]);
  return (
    <div className="action-bar" role="toolbar" aria-label="Actions on the selected node">
      {node === undefined ? (
        <span className="muted small">Select a node for its actions (right click, or Enter on the focused node, opens its menu).</span>
      ) : (
        <>
          <span className="action-bar-node">{node.name}</span>
          {actions.map((action) => (
            <button
              key={action.id}
              type="button"
              className={`button button-small${action.danger ? ' button-danger-outline' : ''}`}
              disabled={action.disabled !== null}
              title={action.disabled ?? undefined}
              onClick={() => start(action)}
            >
              {action.label.replace('…', '')}
            </button>
          ))}
        </>
      )}
    </div>
  );
}
