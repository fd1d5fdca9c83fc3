/** A folded run of snapshots (collapse-runs.ts): one node saying how many it stands for; clicking or Enter opens it. */
import { Handle, Position, type NodeProps } from '@xyflow/react';
import { memo, type ReactElement } from 'react';
import type { RunFlowNode } from '../graph/to-flow';
import { useAppStore } from '../store/context';
import { selectDomain } from '../store/selectors';
import './SnapshotNode.css';
import './CollapsedRunNode.css';

function CollapsedRunNodeView({ data, selected }: NodeProps<RunFlowNode>): ReactElement {
  // An image folder's layers are images, not snapshots.
  const unit = useAppStore(selectDomain)?.state === 'folder' ? 'images' : 'snapshots';
  return (
    <div className={`snap-node run-node${selected ? ' is-selected' : ''}`} data-testid="run-node" data-count={data.count} title={`${data.count} ${unit} folded, ${data.first} to ${data.last}: click, or Enter, shows them`}>
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <div className="run-node-count">… {data.count} {unit} …</div>
      <div className="run-node-range">from {data.first}</div>
      <div className="run-node-range">to {data.last}</div>
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
}

export const CollapsedRunNode = memo(CollapsedRunNodeView);
