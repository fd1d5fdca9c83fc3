/**
 * "clone: NEW" on a graph node that another domain builds on (a linked clone's overlay has its saved state as
 * backing file), "used by 3 clones" when several do; the whole list on hover, and the details list them, each a
 * link that opens that domain (shared/clones.ts says who they are).
 */
import { useCallback, useMemo, type ReactElement } from 'react';
import { cloneUsers } from '../../shared/clones';
import type { Domain } from '../../shared/model';
import { ELLIPSIS, middleEllipsis, SEPARATORS, sharedPrefix } from '../graph/short-name';
import { FitName } from './FitName';
import { useAppActions, useAppStore } from '../store/context';
import { selectDomain, selectScanResult, selectSelectionActions, selectSourceId } from '../store/selectors';

/** The words of the chip: "clone: web01-clone", "used by 3 clones". */
export function usedByWords(users: readonly string[]): string {
  return users.length === 1 ? `clone: ${users[0] ?? ''}` : `used by ${users.length} clones`;
}

/** The start of a clone's name its source's shares: the whole source name and a separator ("web01-" of "web01-test"), else their common start up to a separator. */
function sharedStart(clone: string, source: string): string {
  if (source !== '' && clone.startsWith(source) && SEPARATORS.has(clone[source.length] ?? '')) return clone.slice(0, source.length + 1);
  return sharedPrefix([source, clone]);
}

/**
 * A clone's name in at most `max` letters beside its source's: whole when it fits, else without the start the two
 * names share ("web01-" of "web01" and "web01-test": "…test"), cut in the middle when still too long.
 */
export function cloneNameCut(clone: string, source: string, max: number): string {
  if ([...clone].length <= max) return clone;
  const shared = sharedStart(clone, source);
  const rest = clone.slice(shared.length);
  if (shared === '' || max < 3) return middleEllipsis(clone, max);
  if ([...rest].length + 1 <= max) return `${ELLIPSIS}${rest}`;
  // A rest that fits only without the mark still says that its start is left out: "…lone", never "clone".
  const cut = middleEllipsis(rest, max);
  return cut === rest ? `${ELLIPSIS}${[...rest].slice(1 - max).join('')}` : cut;
}

/** "used by 3 clones" where it fits, else "3 clones" (the hover says by what). */
function countCut(users: readonly string[], max: number): string {
  const words = usedByWords(users);
  return [...words].length <= max ? words : `${users.length} clones`;
}

const WHY = 'Commit and delete on this domain plan around them, or refuse naming them.';

/** The chip on a graph node, when other domains build on it. */
export function UsedByChip({ users }: { users: readonly string[] | undefined }): ReactElement | null {
  const source = useAppStore((s) => selectDomain(s)?.name ?? '');
  const first = users?.[0] ?? '';
  const cutName = useCallback((max: number) => cloneNameCut(first, source, max), [first, source]);
  const cutCount = useCallback((max: number) => countCut(users ?? [], max), [users]);
  if (users === undefined || users.length === 0) return null;
  const many = users.length > 1;
  const title = `${many ? 'Clones' : 'A clone'} built on this node's files: ${users.join(', ')}. ${WHY}`;
  if (many) {
    // Two wordings only: the chip hugs the one that fits.
    return (
      <span className="chip chip-clone chip-clone-count" data-testid="used-by-clone" title={title}>
        <FitName name={usedByWords(users)} cut={cutCount} title={title} />
      </span>
    );
  }
  // The chip takes the room its row leaves, but no more than its whole words need (about a `ch` a letter): its
  // width never follows the cut name, which would cut it again and again.
  const maxWidth = `calc(${[...usedByWords(users)].length}ch + 14px)`;
  return (
    <span className="chip chip-clone" data-testid="used-by-clone" title={title} style={{ maxWidth }}>
      <span className="chip-clone-words">clone:</span>
      <FitName name={first} cut={cutName} title={title} grow />
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
