import type { ReactElement, ReactNode } from 'react';
import { FitName } from './FitName';
import { WarnIcon } from './Icons';

/**
 * The first line of a graph node: its icon, its name (cut once, in the middle, to the room the badges leave, so the end where names differ
 * stays; the whole name on hover), extra chips, and a warning when its files have problems.
 */
export function NodeTitle({ icon, name, findings, side, children }: { icon: ReactNode; name: string; findings: string[]; side?: 'A' | 'B' | null | undefined; children?: ReactNode }): ReactElement {
  return (
    <div className="snap-node-title">
      {side ? (
        <span className={`side-badge side-${side}`} title={`Side ${side} of the comparison`} data-testid={`side-${side}`}>
          {side}
        </span>
      ) : (
        <span className="snap-node-icon">{icon}</span>
      )}
      <FitName className="snap-node-name" name={name} grow />
      {children}
      {findings.length > 0 ? (
        <span className="chip chip-warn health-badge" title={findings.join('\n')} data-testid="health-badge">
          <WarnIcon /> {findings.length}
        </span>
      ) : null}
    </div>
  );
}
