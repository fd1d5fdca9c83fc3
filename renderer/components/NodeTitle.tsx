import type { ReactElement, ReactNode } from 'react';
import { middleEllipsis } from '../graph/short-name';
import { WarnIcon } from './Icons';

/** How many letters of a name a snapshot or branch node has room for at its name size (SnapshotNode.css). */
export const NODE_NAME_LETTERS = 15;

/**
 * The first line of a graph node: its icon, its name (cut in the middle when long, so the end where names differ
 * stays; the whole name on hover), extra chips, and a warning when its files have problems.
 */
export function NodeTitle({ icon, name, findings, side, children }: { icon: ReactNode; name: string; findings: string[]; side?: 'A' | 'B' | null | undefined; children?: ReactNode }): ReactElement {
  const shown = middleEllipsis(name, findings.length > 0 ? NODE_NAME_LETTERS - 3 : NODE_NAME_LETTERS);
  return (
    <div className="snap-node-title">
      {side ? (
        <span className={`side-badge side-${side}`} title={`Side ${side} of the comparison`} data-testid={`side-${side}`}>
          {side}
        </span>
      ) : (
        <span className="snap-node-icon">{icon}</span>
      )}
      <span className="snap-node-name" title={name} data-name={name}>
        {shown}
      </span>
      {children}
      {findings.length > 0 ? (
        <span className="chip chip-warn health-badge" title={findings.join('\n')} data-testid="health-badge">
          <WarnIcon /> {findings.length}
        </span>
      ) : null}
    </div>
  );
}
