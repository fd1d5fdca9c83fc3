import { Handle, Position, type NodeProps } from '@xyflow/react';
import { memo, type ReactElement } from 'react';
import type { SnapFlowNode } from '../graph/to-flow';
import { formatBytes } from './format';
import { BranchIcon, HereIcon } from './Icons';
import { NodeTitle } from './NodeTitle';
import { UsedByChip } from './UsedByChip';
import './SnapshotNode.css';

/** What a tip is, in the legend's words (Legend.tsx); in an image folder the tips are its top images. */
const TIP_LABEL = { domain: 'the VM’s files', metadata: 'branch', loose: 'loose tip', folder: 'top image' } as const;

/** What You are here means, on hover. */
const HERE_TITLE = 'You are here: the files the VM runs on now. Taking a snapshot saves this state.';

/** A branch tip: live, writable layers not captured by any snapshot. The current one is "You are here". */
function BranchNodeView({ data, selected }: NodeProps<SnapFlowNode>): ReactElement {
  const loose = data.branch?.origin === 'loose';
  const classes = ['snap-node', 'kind-branch', data.current ? 'is-current' : '', loose ? 'is-loose' : '', selected ? 'is-selected' : '', data.mark ? `mark-${data.mark}` : '', data.ghost ? 'is-ghost' : '']
    .filter(Boolean)
    .join(' ');
  return (
    <div className={classes} data-testid={`${data.ghost ? 'ghost' : 'node'}-${data.name}`} data-kind="branch" data-current={data.current && !data.ghost ? 'true' : 'false'} data-mark={data.mark ?? undefined}>
      <Handle type="target" position={Position.Left} isConnectable={false} />
      {data.ghost && data.here !== 'after' ? <div className="ghost-badge">new</div> : null}
      {data.here === 'after' ? (
        <div className="here-badge is-after" data-testid="you-will-be-here" title="Where You are here will be once the plan has run">
          <HereIcon /> You will be here
        </div>
      ) : null}
      {data.current && !data.ghost ? (
        <div className={`here-badge${data.here === 'before' ? ' is-before' : ''}`} data-testid="you-are-here" title={HERE_TITLE}>
          <HereIcon /> You are here{data.vmState !== undefined ? ` · ${data.vmState}` : ''}
        </div>
      ) : null}
      <NodeTitle icon={<BranchIcon />} name={data.name} findings={data.findings} side={data.side} />
      <div className="snap-node-meta">
        <span>{data.current && data.branch?.origin !== 'folder' ? TIP_LABEL.domain : TIP_LABEL[data.branch?.origin ?? 'metadata']}</span>
        <span className="snap-node-size" title={data.branch?.origin === 'folder' ? 'Space used by this image' : "Space used by this branch's tip file(s)"}>
          {formatBytes(data.size)}
        </span>
      </div>
      <div className="snap-node-chips">
        {data.branch?.memoryFile !== undefined ? (
          <span className="chip" data-testid="saved-memory" title={`The VM was left running: its memory is saved in ${data.branch.memoryFile}, and switching here resumes it`}>
            memory
          </span>
        ) : null}
        <UsedByChip users={data.usedBy} />
      </div>
    </div>
  );
}

export const BranchNode = memo(BranchNodeView);
