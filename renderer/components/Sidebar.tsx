import { useState, type ReactElement } from 'react';
import type { SourceEntry } from '../../shared/contract';
import type { Domain, Problem } from '../../shared/model';
import { useAppActions, useAppStore } from '../store/context';
import { domainKey, selectOpenDomainKey, selectScans, selectSelectionActions, selectSourceActions, selectSources } from '../store/selectors';
import type { SourceScan } from '../store/sources-slice';
import { selectLayoutActions } from '../store/ui-slice';
import { middleEllipsis } from '../graph/short-name';
import { AddSource } from './AddSource';
import { connectionName } from './format';
import { FolderIcon, RefreshIcon, ServerIcon, WarnIcon } from './Icons';
import './Sidebar.css';

function stateClass(state: string): string {
  if (state === 'running') return 'dot dot-running';
  if (state === 'paused') return 'dot dot-paused';
  if (state === 'folder') return 'dot dot-folder';
  return 'dot';
}

function DomainItem({ source, domain }: { source: SourceEntry; domain: Domain }): ReactElement {
  const current = useAppStore(selectOpenDomainKey);
  const { selectDomain } = useAppActions(selectSelectionActions);
  const active = current === domainKey(source.id, domain.name);
  const errors = domain.problems.filter((p) => p.severity !== 'info').length;
  return (
    <li>
      <button
        type="button"
        className={`domain-item${active ? ' is-active' : ''}`}
        aria-current={active ? 'true' : undefined}
        onClick={() => selectDomain(source.id, domain.name)}
        data-testid={`domain-${domain.name}`}
      >
        <span className={stateClass(domain.state)} title={domain.state} />
        <span className="domain-name" title={domain.name}>
          {middleEllipsis(domain.name, 20)}
        </span>
        {errors > 0 ? (
          <span className="chip chip-warn" title={`${errors} problem(s)`}>
            <WarnIcon />
            {errors}
          </span>
        ) : null}
        <span className="domain-count" title={domain.state === 'folder' ? 'images' : 'snapshots'}>
          {domain.snapshots.length}
        </span>
      </button>
    </li>
  );
}

/** A source's title row: its kind, its connection (URI, SSH host or folder), demo flag, and the rescan and remove buttons. */
function SourceHeader({ source, scanning }: { source: SourceEntry; scanning: boolean }): ReactElement {
  const { scanSource, removeSource } = useAppActions(selectSourceActions);
  const name = connectionName(source.source);
  // A folder is told apart by its last part: keep that, not the start all temporary folders share.
  const shown = source.source.kind === 'folder' ? `…/${name.slice(name.lastIndexOf('/') + 1)}` : name;
  return (
    <header className="source-header">
      <span className="source-icon">{source.source.kind === 'libvirt' ? <ServerIcon /> : <FolderIcon />}</span>
      <span className="source-label" title={source.label === name ? name : `${name} (${source.label})`} data-testid={`source-label-${source.id}`}>
        {middleEllipsis(shown, source.source.kind === 'folder' ? (source.demo ? 10 : 18) : 24)}
      </span>
      {source.demo ? (
        <span className="chip chip-accent" title="The built-in demo lab: its images and its demo VM are removed when the app stops">
          demo
        </span>
      ) : null}
      <button type="button" className="icon-button" title="Rescan" aria-label={`Rescan ${source.label}`} onClick={() => void scanSource(source.id)} disabled={scanning}>
        <RefreshIcon />
      </button>
      {source.removable ? (
        <button type="button" className="icon-button" title="Remove" aria-label={`Remove ${source.label}`} onClick={() => void removeSource(source.id)}>
          ×
        </button>
      ) : null}
    </header>
  );
}

/** What belongs to no domain: files skipped in a folder, connection-wide trouble. */
function SourceProblems({ id, problems }: { id: string; problems: Problem[] }): ReactElement | null {
  if (problems.length === 0) return null;
  return (
    <ul className="source-problems" data-testid={`source-problems-${id}`}>
      {problems.map((problem) => (
        <li key={`${problem.code}\0${problem.path ?? problem.message}`} className={`source-problem is-${problem.severity}`}>
          <WarnIcon />
          <span>{problem.message}</span>
        </li>
      ))}
    </ul>
  );
}

/** Whether a domain's name holds the filter's words, in any case. */
const matches = (filter: string, name: string) => filter.trim() === '' || name.toLowerCase().includes(filter.trim().toLowerCase());

/** One source: its header, its scan's state, its domains (those the filter lets through) and its own problems. */
function SourceSection({ source, scan, filter }: { source: SourceEntry; scan: SourceScan | undefined; filter: string }): ReactElement {
  const domains = scan?.result?.domains.filter((d) => matches(filter, d.name)) ?? [];
  const hidden = (scan?.result?.domains.length ?? 0) - domains.length;
  return (
    <section className="source">
      <SourceHeader source={source} scanning={scan?.status === 'loading'} />
      {scan?.result?.hypervisor != null ? (
        <p className="muted small source-hypervisor" data-testid={`source-hypervisor-${source.id}`}>
          {scan.result.hypervisor}
        </p>
      ) : null}
      {scan?.status === 'loading' && scan.result === undefined ? <p className="muted small">Scanning…</p> : null}
      {scan?.status === 'error' ? (
        <p className="error small" role="alert">
          {scan.error?.message}
        </p>
      ) : null}
      {scan?.result !== undefined && scan.result.domains.length === 0 ? <p className="muted small">{source.source.kind === 'folder' ? 'No images.' : 'No domains.'}</p> : null}
      <ul className="domain-list">
        {domains.map((domain) => (
          <DomainItem key={domain.name} source={source} domain={domain} />
        ))}
      </ul>
      {hidden > 0 ? <p className="muted small">{domains.length === 0 ? `No name here holds “${filter.trim()}”` : `${hidden} more not matching the filter`}</p> : null}
      {scan?.result !== undefined ? <SourceProblems id={source.id} problems={scan.result.problems} /> : null}
    </section>
  );
}

/** The sidebar's top row: the filter over the domain names and the button that collapses the sidebar. */
function SidebarTop({ filter, setFilter }: { filter: string; setFilter: (filter: string) => void }): ReactElement {
  const { togglePanel } = useAppActions(selectLayoutActions);
  return (
    <div className="sidebar-top">
      <input
        type="search"
        className="sidebar-filter"
        placeholder="Filter domains"
        aria-label="Filter domains and image trees by name"
        value={filter}
        onChange={(event) => setFilter(event.target.value)}
        onKeyDown={(event) => {
          if (event.key === 'Escape') setFilter('');
        }}
        data-testid="sidebar-filter"
      />
      <button type="button" className="icon-button" onClick={() => togglePanel('sidebar')} aria-label="Hide the sidebar" title="Hide the sidebar" data-testid="collapse-sidebar">
        «
      </button>
    </div>
  );
}

/** The sidebar: the filter, every source with its domains, and the form that adds one. */
export function Sidebar(): ReactElement {
  const sources = useAppStore(selectSources);
  const scans = useAppStore(selectScans);
  const [filter, setFilter] = useState('');
  return (
    <nav className="sidebar" aria-label="Connections and domains">
      <SidebarTop filter={filter} setFilter={setFilter} />
      {sources.map((source) => (
        <SourceSection key={source.id} source={source} scan={scans[source.id]} filter={filter} />
      ))}
      <AddSource />
    </nav>
  );
}
