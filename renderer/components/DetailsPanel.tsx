/** The Details tab: the selected snapshot, branch or file, else the domain itself. */
import { useMemo, type ReactElement } from 'react';
import type { Domain } from '../../shared/model';
import { snapshotGraph } from '../../shared/snapshot-graph';
import { useAppStore } from '../store/context';
import { selectFileId, selectNodeId, selectView } from '../store/selectors';
import { BranchDetails } from './BranchDetails';
import { DomainSummary } from './DomainSummary';
import { FileDetails } from './FileDetails';
import { SnapshotDetails } from './SnapshotDetails';
import { UsedBySection } from './UsedByChip';
import './DetailsPanel.css';

/** What the panel shows for the selection in the current view. */
export function DetailsPanel({ domain }: { domain: Domain }): ReactElement {
  const nodeId = useAppStore(selectNodeId);
  const view = useAppStore(selectView);
  const fileId = useAppStore(selectFileId);
  const nodes = useMemo(() => snapshotGraph(domain), [domain]);
  const node = view === 'snapshots' ? nodes.find((n) => n.id === nodeId) : undefined;
  return (
    <div aria-label="Details" data-testid="details-panel">
      {view === 'files' && fileId !== null ? (
        <FileDetails domain={domain} />
      ) : node?.snapshot ? (
        <>
          <SnapshotDetails domain={domain} snapshot={node.snapshot} nodes={nodes} />
          <UsedBySection domain={domain} nodeId={node.id} />
        </>
      ) : node?.branch ? (
        <>
          <BranchDetails domain={domain} branch={node.branch} />
          <UsedBySection domain={domain} nodeId={node.id} />
        </>
      ) : (
        <DomainSummary domain={domain} />
      )}
    </div>
  );
}
