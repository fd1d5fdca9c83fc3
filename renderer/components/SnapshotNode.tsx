import { Handle, Position, type NodeProps } from '@xyflow/react';
import { memo, type ReactElement } from 'react';
import type { SnapFlowNode } from '../graph/to-flow';
import { formatAge, formatBytes, formatTime, stateLabel } from './format';
import { CameraIcon } from './Icons';
import { NodeTitle } from './NodeTitle';
import './SnapshotNode.css';

/** A snapshot: a saved point. Its name, age, state and the size of the layer holding its saved state. */
function SnapshotNodeView({ data, selected }: NodeProps<SnapFlowNode>): ReactElement {
  const snap = data.snapshot;
  return (
    <div
      className={`snap-node kind-snapshot${selected ? ' is-selected' : ''}${data.mark ? ` mark-${data.mark}` : ''}${data.ghost ? ' is-ghost' : ''}`}
      data-testid={`${data.ghost ? 'ghost' : 'node'}-${data.name}`}
      data-kind="snapshot"
      data-mark={data.mark ?? undefined}
      title={snap?.description ?? undefined}
    >
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <NodeTitle icon={<CameraIcon />} name={data.name} findings={data.findings} side={data.side}>
        {snap?.current ? (
          <span className="chip chip-accent" title="libvirt's current snapshot">
            current
          </span>
        ) : null}
      </NodeTitle>
      <div className="snap-node-meta">
        <span title={formatTime(snap?.created ?? null)}>{formatAge(snap?.created ?? null) || stateLabel(snap?.state ?? '')}</span>
        {snap?.created ? <span className="chip">{stateLabel(snap.state)}</span> : null}
        <span className="snap-node-size" title="Space used by this snapshot's saved-state layer(s)">
          {formatBytes(data.size)}
        </span>
      </div>
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
}

export const SnapshotNode = memo(SnapshotNodeView);
