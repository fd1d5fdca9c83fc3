import { Handle, Position, type NodeProps } from '@xyflow/react';
import { memo, type ReactElement } from 'react';
import type { SnapFlowNode } from '../graph/to-flow';
import { formatAge, formatBytes, formatTime, stateLabel } from './format';
import { CameraIcon } from './Icons';
import { NodeThumbnail } from './NodeThumbnail';
import { NodeTitle } from './NodeTitle';
import { UsedByChip } from './UsedByChip';
import './SnapshotNode.css';

/** What the "libvirt's current" chip means, in the words the legend uses (Legend.tsx). */
export const LIBVIRT_CURRENT_TITLE =
  "libvirt's current snapshot: the one libvirt records as current (the last taken or reverted to). It is not where the VM runs now: that is You are here.";

/**
 * A snapshot: a saved point, or in an image folder an image. Its name, age, size and state; above it, a badge when
 * libvirt records it as its current snapshot (as You are here sits above the VM's branch).
 */
function SnapshotNodeView({ data, selected }: NodeProps<SnapFlowNode>): ReactElement {
  const snap = data.snapshot;
  const image = snap?.state === 'image';
  return (
    <div
      className={`snap-node kind-snapshot${selected ? ' is-selected' : ''}${data.mark ? ` mark-${data.mark}` : ''}${data.ghost ? ' is-ghost' : ''}`}
      data-testid={`${data.ghost ? 'ghost' : 'node'}-${data.name}`}
      data-kind="snapshot"
      data-mark={data.mark ?? undefined}
      title={snap?.description ?? undefined}
    >
      <Handle type="target" position={Position.Left} isConnectable={false} />
      {snap?.current ? (
        <div className="current-badge" title={LIBVIRT_CURRENT_TITLE} data-testid="libvirt-current">
          libvirt&apos;s current
        </div>
      ) : null}
      <NodeTitle icon={<CameraIcon />} name={data.name} findings={data.findings} side={data.side} />
      <div className="snap-node-meta">
        <span title={formatTime(snap?.created ?? null)}>{formatAge(snap?.created ?? null) || stateLabel(snap?.state ?? '')}</span>
        <span className="snap-node-size" title={image ? 'Space used by this image' : "Space used by this snapshot's saved-state layer(s)"}>
          {formatBytes(data.size)}
        </span>
      </div>
      <div className="snap-node-chips">
        {snap?.created ? <span className="chip">{stateLabel(snap.state)}</span> : null}
        <UsedByChip users={data.usedBy} />
        <NodeThumbnail snapshot={snap} />
      </div>
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
}

export const SnapshotNode = memo(SnapshotNodeView);
