import type { ReactElement, ReactNode } from 'react';
import { WarnIcon } from './Icons';

/** The first line of a graph node: its icon, its name, extra chips, and a warning when its files have problems. */
export function NodeTitle({ icon, name, problemCount, children }: { icon: ReactNode; name: string; problemCount: number; children?: ReactNode }): ReactElement {
  return (
    <div className="snap-node-title">
      <span className="snap-node-icon">{icon}</span>
      <span className="snap-node-name">{name}</span>
      {children}
      {problemCount > 0 ? (
        <span className="chip chip-warn" title={`${problemCount} problem(s)`}>
          <WarnIcon />
        </span>
      ) : null}
    </div>
  );
}
