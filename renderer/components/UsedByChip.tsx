/**
 * "used by clone NEW" on a graph node that other domains build on (a linked clone's overlay has its saved state as
 * backing file): the first name, a count of the others, the whole list on hover; the details list them, each a
 * link that opens that domain (shared/clones.ts says who they are).
 */
import { useMemo, type ReactElement } from 'react';
import { cloneUsers } from '../../shared/clones';
import type { Domain } from '../../shared/model';
import { FitName } from './FitName';
import { useAppActions, useAppStore } from '../store/context';
import { selectScanResult, selectSelectionActions, selectSourceId } from '../store/selectors';

/** The words of the chip: "used by clone web01-clone", "used by 3 clones". */
export function usedByWords(users: readonly string[]): string {
  return users.length === 1 ? `used by clone ${users[0] ?? ''}` : `used by ${users.length} clones`;
}

const WHY = 'Commit and delete on this domain plan around them, or refuse naming them.';

/** The chip on a graph node, when other domains build on it. */
export function UsedByChip({ users }: { users: readonly string[] | undefined }): ReactElement | null {
  if (users === undefined || users.length === 0) return null;
  return (
    <span className="chip chip-clone" data-testid="used-by-clone" title={`Clones built on this node's files: ${users.join(', ')}. ${WHY}`}>
      {users.length === 1 ? (
        <>
          <span className="chip-clone-words">used by</span>
          <FitName name={users[0] ?? ''} />
        </>
      ) : (
        usedByWords(users)
      )}
    </span>
  );
}

/** A link that opens another domain of the open source. */
export function DomainLink({ name }: { name: string }): ReactElement {
  const sourceId = useAppStore(selectSourceId);
  const { selectDomain } = useAppActions(selectSelectionActions);
  return (
    <button type="button" className="link-button" title={`Open ${name}`} onClick={() => sourceId !== null && selectDomain(sourceId, name)}>
      {name}
    </button>
  );
}

/** Links that open other domains of the open source, one a line. */
export function DomainLinks({ names }: { names: readonly string[] }): ReactElement {
  return (
    <ul className="domain-links">
      {names.map((name) => (
        <li key={name}>
          <DomainLink name={name} />
        </li>
      ))}
    </ul>
  );
}

/** The details' list of the clones built on the selected snapshot or branch; nothing when there are none. */
export function UsedBySection({ domain, nodeId }: { domain: Domain; nodeId: string }): ReactElement | null {
  const scan = useAppStore(selectScanResult);
  const users = useMemo(() => (scan === null ? [] : (cloneUsers(scan, domain).get(nodeId) ?? [])), [scan, domain, nodeId]);
  if (users.length === 0) return null;
  return (
    <section className="panel-section" data-testid="used-by-section">
      <h3>Used by {users.length === 1 ? 'a clone' : `${users.length} clones`}</h3>
      <p className="muted small">Their disks build on this node's files, which therefore stay as they are. {WHY}</p>
      <DomainLinks names={users} />
    </section>
  );
}
