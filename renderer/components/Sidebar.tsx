import { useState, type KeyboardEvent, type ReactElement } from 'react';
import type { SourceEntry } from '../../shared/contract';
import type { Domain, Problem } from '../../shared/model';
import { useAppActions, useAppStore } from '../store/context';
import { domainKey, selectOpenDomainKey, selectScans, selectSelectionActions, selectSourceActions, selectSources } from '../store/selectors';
import type { SourceScan } from '../store/sources-slice';
import { selectLayoutActions } from '../store/ui-slice';
import { AddSource } from './AddSource';
import { FitName } from './FitName';
import { connectionName } from './format';
import { FolderIcon, RefreshIcon, ServerIcon, WarnIcon } from './Icons';
import './Sidebar.css';

function stateClass(state: string): string {
  if (state === 'running') return 'dot dot-running';
  if (state === 'paused') return 'dot dot-paused';
  if (state === 'folder') return 'dot dot-folder';
  return 'dot';
}

/** How many images a folder tree holds (every file of it), or how many snapshots a domain has. */
function countOf(domain: Domain): number {
  return domain.state === 'folder' ? Object.keys(domain.layers).length : domain.snapshots.length;
}

/** "clone" beside a domain made as a clone (its record, Domain.cloneOf), its source on hover. */
function CloneMark({ domain }: { domain: Domain }): ReactElement | null {
  const of = domain.cloneOf;
  if (of === undefined) return null;
  return (
    <span className="chip domain-clone" data-testid={`clone-mark-${domain.name}`} title={`Clone of ${of.domain} at ${of.node.kind} ${of.node.name}`}>
      clone
    </span>
  );
}

/**
 * One domain of the list. The whole list is one tab stop (`tabStop`: the open domain, else the first one); the
 * arrow keys move inside it (Sidebar's onKeyDown).
 */
function DomainItem({ source, domain, tabStop }: { source: SourceEntry; domain: Domain; tabStop: boolean }): ReactElement {
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
        tabIndex={tabStop ? 0 : -1}
        data-testid={`domain-${domain.name}`}
      >
        <span className={stateClass(domain.state)} title={domain.state} />
        <FitName className={active ? 'domain-name is-open' : 'domain-name'} name={domain.name} grow />
        <CloneMark domain={domain} />
        {errors > 0 ? (
          <span className="chip chip-warn" title={`${errors} problem(s)`}>
            <WarnIcon />
            {errors}
          </span>
        ) : null}
        <span className="domain-count" title={domain.state === 'folder' ? 'images' : 'snapshots'}>
          {countOf(domain)}
        </span>
      </button>
    </li>
  );
}

/** A source's title row: its kind, its connection (URI, SSH host or folder), demo flag, and the rescan and remove buttons. */
function SourceHeader({ source, scanning }: { source: SourceEntry; scanning: boolean }): ReactElement {
  const { scanSource, removeSource } = useAppActions(selectSourceActions);
  const name = connectionName(source.source);
  // A folder is told apart by its last part (its icon says it is a folder): keep that, not the start all temporary
  // folders share; the whole path is on hover.
  const shown = source.source.kind === 'folder' ? name.slice(name.lastIndexOf('/') + 1) || name : name;
  return (
    <header className="source-header">
      <span className="source-icon">{source.source.kind === 'libvirt' ? <ServerIcon /> : <FolderIcon />}</span>
      <span className="source-label" data-testid={`source-label-${source.id}`}>
        <FitName name={shown} title={source.label === name ? name : `${name} (${source.label})`} grow />
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

/** Domains in name order (numbers in names by value), `first` (the demo's own domain) ahead of the rest. */
function byName<T extends { name: string }>(domains: T[], first: string | undefined): T[] {
  return [...domains].sort((a, b) => Number(b.name === first) - Number(a.name === first) || a.name.localeCompare(b.name, undefined, { numeric: true }));
}

/** One source: its header, its scan's state, its domains (those the filter lets through) and its own problems. */
function SourceSection({ source, scan, filter, tabStop }: { source: SourceEntry; scan: SourceScan | undefined; filter: string; tabStop: string | null }): ReactElement {
  // In name order, with the demo's domain first where the source is the demo lab's.
  const domains = byName(scan?.result?.domains.filter((d) => matches(filter, d.name)) ?? [], source.demo ? source.focus : undefined);
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
          <DomainItem key={domain.name} source={source} domain={domain} tabStop={tabStop === domainKey(source.id, domain.name)} />
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

/** The domain the list's one tab stop is on: the open one when it is listed, else the first listed; null when none is. */
function tabStopOf(sources: readonly SourceEntry[], scans: Record<string, SourceScan>, filter: string, open: string | null): string | null {
  const keys = sources.flatMap((source) => byName((scans[source.id]?.result?.domains ?? []).filter((d) => matches(filter, d.name)), source.demo ? source.focus : undefined).map((d) => domainKey(source.id, d.name)));
  return open !== null && keys.includes(open) ? open : (keys[0] ?? null);
}

/** Arrow keys, Home and End move the focus between the domains of the list (a roving tab stop). */
function moveInList(event: KeyboardEvent<HTMLElement>): void {
  const target = event.target;
  if (!(target instanceof HTMLElement) || !target.classList.contains('domain-item')) return;
  const items = Array.from(event.currentTarget.querySelectorAll<HTMLElement>('.domain-item'));
  const at = items.indexOf(target);
  const next = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: items.length - 1 }[event.key];
  if (next === undefined) return;
  event.preventDefault();
  const item = items[Math.max(0, Math.min(items.length - 1, next))];
  if (item === undefined) return;
  for (const other of items) other.tabIndex = other === item ? 0 : -1;
  item.focus();
}

/** The sidebar: the filter, every source with its domains, and the form that adds one. */
export function Sidebar(): ReactElement {
  const sources = useAppStore(selectSources);
  const scans = useAppStore(selectScans);
  const open = useAppStore(selectOpenDomainKey);
  const [filter, setFilter] = useState('');
  const tabStop = tabStopOf(sources, scans, filter, open);
  return (
    <nav className="sidebar" aria-label="Connections and domains" onKeyDown={moveInList}>
      <SidebarTop filter={filter} setFilter={setFilter} />
      {sources.map((source) => (
        <SourceSection key={source.id} source={source} scan={scans[source.id]} filter={filter} tabStop={tabStop} />
      ))}
      <AddSource />
    </nav>
  );
}
