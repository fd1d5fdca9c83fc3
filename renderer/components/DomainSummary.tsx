/** The details of the domain itself, shown while no node is selected: its counts, disks, health and problems. */
import type { ReactElement } from 'react';
import type { Domain } from '../../shared/model';
import { ProblemList } from './details-parts';
import { fileName, formatBytes } from './format';
import { HealthSection } from './HealthSection';
import { DiskIcon } from './Icons';
import { useAppActions, useAppStore } from '../store/context';
import { selectSelectionActions, selectSourceId } from '../store/selectors';

/** Where a clone comes from (its <metadata> record, Domain.cloneOf): the source domain, to open, and the node. */
function CloneOf({ cloneOf }: { cloneOf: NonNullable<Domain['cloneOf']> }): ReactElement {
  const sourceId = useAppStore(selectSourceId);
  const { selectDomain } = useAppActions(selectSelectionActions);
  return (
    <p className="clone-of" data-testid="clone-of">
      Clone of{' '}
      <button type="button" className="link-button" onClick={() => sourceId !== null && selectDomain(sourceId, cloneOf.domain)} title={`Open ${cloneOf.domain}`}>
        {cloneOf.domain}
      </button>{' '}
      at {cloneOf.node.kind} <strong>{cloneOf.node.name}</strong>
    </p>
  );
}

function DomainHeader({ domain }: { domain: Domain }): ReactElement {
  const total = Object.values(domain.layers).reduce((sum, l) => sum + l.actualSize, 0);
  return (
    <header className="panel-header">
      <span className="panel-kind">{domain.state === 'folder' ? 'Image tree' : 'Domain'}</span>
      <h2 data-testid="details-title">{domain.name}</h2>
      {domain.cloneOf !== undefined ? <CloneOf cloneOf={domain.cloneOf} /> : null}
      <dl className="facts">
        <dt>State</dt>
        <dd>{domain.state}</dd>
        <dt>{domain.state === 'folder' ? 'Images' : 'Snapshots'}</dt>
        <dd>{domain.snapshots.length}</dd>
        <dt>{domain.state === 'folder' ? 'Top images' : 'Branches'}</dt>
        <dd>{domain.branches.length}</dd>
        <dt>Files</dt>
        <dd>
          {Object.keys(domain.layers).length} ({formatBytes(total)})
        </dd>
      </dl>
    </header>
  );
}

function DiskList({ domain }: { domain: Domain }): ReactElement | null {
  if (domain.disks.length === 0) return null;
  return (
    <section className="panel-section">
      <h3>Disks</h3>
      <ul className="disk-list">
        {domain.disks.map((disk) => (
          <li key={disk.target} className={disk.managed ? '' : 'muted'}>
            <DiskIcon /> <strong>{disk.target}</strong> {disk.device !== 'disk' ? `(${disk.device})` : ''}{' '}
            {disk.managed && disk.file ? <code title={disk.file}>{fileName(disk.file)}</code> : <span>not managed: {disk.reason}</span>}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** The domain's panel. */
export function DomainSummary({ domain }: { domain: Domain }): ReactElement {
  return (
    <>
      <DomainHeader domain={domain} />
      <DiskList domain={domain} />
      <p className="explain muted">Select a node to see its files. Arrow keys move between nodes; End goes to You are here, Home to the root; / finds; F fits the view.</p>
      <HealthSection domain={domain} paths={Object.keys(domain.layers)} />
      {/* Problems on the domain's files are in the health section above; the rest (missing files too) here. */}
      <ProblemList problems={domain.problems.filter((p) => p.path === undefined || domain.layers[p.path] === undefined || (p.severity === 'info' && p.code !== 'locked'))} />
    </>
  );
}
