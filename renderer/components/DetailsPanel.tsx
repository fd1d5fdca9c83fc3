import type { ReactElement } from 'react';
import type { Branch, Domain, Problem, Snapshot } from '../../shared/model';
import { branchNodeId, snapshotGraph, snapshotNodeId, type GraphNode } from '../../shared/snapshot-graph';
import { useAppStore } from '../store/context';
import { selectNodeId } from '../store/selectors';
import type { AppState } from '../store/store';
import { fileName, formatBytes, formatTime, stateLabel } from './format';
import { FileDetails } from './FileDetails';
import { HealthSection } from './HealthSection';
import { BranchIcon, CameraIcon, CompareIcon, DiskIcon, HereIcon, WarnIcon } from './Icons';

/** Problems under which the planners never write a layer, so its tip is not called writable: of the file itself… */
const FREEZES_FILE = new Set<string>(['outside-folder', 'external-data-file', 'not-regular-file']);
/** …or of any file of the domain (a file the scan could not read may be built on any of its layers). */
const FREEZES_DOMAIN = new Set<string>(['unreadable-name', 'unreadable-file']);

const selectSelectNode = (s: AppState) => s.selectNode;
const selectView = (s: AppState) => s.view;
const selectFileId = (s: AppState) => s.fileId;
const selectPick = (s: AppState) => s.startComparePick;

function CompareButton({ id }: { id: string }): ReactElement {
  const pick = useAppStore(selectPick);
  return (
    <div className="panel-actions">
      <button type="button" className="button button-small" onClick={() => pick(id)}>
        <CompareIcon /> Compare with…
      </button>
    </div>
  );
}

function FileRow({ domain, label, hint, path }: { domain: Domain; label: string; hint: string; path: string | null }): ReactElement {
  const layer = path !== null ? domain.layers[path] : undefined;
  return (
    <div className="file-row">
      <div className="file-label">
        {label}
        <span className="muted small"> · {hint}</span>
      </div>
      {path === null ? (
        <div className="muted small">none</div>
      ) : (
        <div className="file-path" title={path}>
          <code>{fileName(path)}</code>
          <span className="file-size">{layer ? formatBytes(layer.actualSize) : 'missing'}</span>
          <div className="file-dir muted small">{path.slice(0, path.lastIndexOf('/') + 1)}</div>
        </div>
      )}
    </div>
  );
}

function ProblemList({ problems }: { problems: Problem[] }): ReactElement | null {
  if (problems.length === 0) return null;
  return (
    <section className="panel-section">
      <h3>Problems</h3>
      <ul className="problem-list">
        {problems.map((p, i) => (
          <li key={i} className={`problem problem-${p.severity}`}>
            <WarnIcon /> {p.message}
          </li>
        ))}
      </ul>
    </section>
  );
}

function problemsOn(domain: Domain, paths: Array<string | null>): Problem[] {
  const set = new Set(paths.filter((p): p is string => p !== null));
  return domain.problems.filter((p) => p.path !== undefined && set.has(p.path));
}

function SnapshotDetails({ domain, snapshot, nodes }: { domain: Domain; snapshot: Snapshot; nodes: GraphNode[] }): ReactElement {
  const selectNode = useAppStore(selectSelectNode);
  const children = nodes.filter((n) => n.parentId === snapshotNodeId(snapshot.name));
  const folder = domain.state === 'folder';
  return (
    <>
      <header className="panel-header">
        <span className="panel-kind">
          <CameraIcon /> {folder ? 'Backing image' : 'Snapshot'}
        </span>
        <h2 data-testid="details-title">{snapshot.name}</h2>
        {snapshot.description ? <p className="muted">{snapshot.description}</p> : null}
        <dl className="facts">
          {folder ? null : (
            <>
              <dt>Taken</dt>
              <dd>{formatTime(snapshot.created)}</dd>
              <dt>State</dt>
              <dd>{stateLabel(snapshot.state)}</dd>
            </>
          )}
          <dt>Parent</dt>
          <dd>{snapshot.parent ?? '—'}</dd>
          {snapshot.current ? (
            <>
              <dt>libvirt</dt>
              <dd>current snapshot</dd>
            </>
          ) : null}
        </dl>
      </header>
      <p className="explain">
        {folder
          ? 'Other images are built on this file, so it holds a saved state: it must never be written again.'
          : 'The saved state lives in the file below, read-only. The file named after the snapshot holds the changes made after it was taken.'}
      </p>
      {snapshot.disks.map((disk) => (
        <section className="panel-section" key={disk.target} data-testid={`disk-${disk.target}`}>
          <h3>
            <DiskIcon /> {folder ? 'Image' : disk.target}
            {disk.kind !== 'external' ? <span className="chip">{disk.kind}</span> : null}
          </h3>
          <FileRow domain={domain} label="Saved state" hint="read-only, frozen" path={disk.stateLayer} />
          {folder ? null : <FileRow domain={domain} label="Changes made after this snapshot" hint="its overlay" path={disk.overlay} />}
        </section>
      ))}
      {snapshot.memoryFile ? (
        <section className="panel-section">
          <h3>Memory state</h3>
          <code className="file-dir">{snapshot.memoryFile}</code>
        </section>
      ) : null}
      {children.length > 0 ? (
        <section className="panel-section">
          <h3>Leads to</h3>
          <div className="child-links">
            {children.map((c) => (
              <button type="button" className="link-button" key={c.id} onClick={() => selectNode(c.id)}>
                {c.kind === 'branch' ? <BranchIcon /> : <CameraIcon />} {c.name}
              </button>
            ))}
          </div>
        </section>
      ) : null}
      <CompareButton id={snapshotNodeId(snapshot.name)} />
      <HealthSection domain={domain} paths={snapshot.disks.flatMap((d) => (d.stateLayer === null ? [] : [d.stateLayer]))} />
      <ProblemList problems={problemsOn(domain, snapshot.disks.flatMap((d) => [d.stateLayer, d.overlay])).filter((p) => p.severity === 'info' && p.code !== 'locked')} />
    </>
  );
}

const ORIGIN_TEXT: Record<Branch['origin'], string> = {
  domain: "The domain's current disks: what the VM reads and writes when it runs.",
  metadata: 'A branch recorded in the domain definition: kept, not in use.',
  loose: 'A file found on disk that grows from this graph, recorded by nobody. Shown so it is never lost.',
  folder: 'The top of a chain: no other image is built on it, so it is the one that is written.',
};

function BranchDetails({ domain, branch }: { domain: Domain; branch: Branch }): ReactElement {
  return (
    <>
      <header className="panel-header">
        <span className="panel-kind">
          <BranchIcon /> {branch.origin === 'loose' ? 'Loose tip' : branch.origin === 'folder' ? 'Tip' : 'Branch'}
        </span>
        <h2 data-testid="details-title">{branch.name}</h2>
        {branch.current ? (
          <div className="here-inline">
            <HereIcon /> You are here
          </div>
        ) : null}
        <dl className="facts">
          <dt>Grows from</dt>
          <dd>{branch.base ?? 'no snapshot'}</dd>
        </dl>
      </header>
      <p className="explain">{ORIGIN_TEXT[branch.origin]}</p>
      {branch.tips.map((tip) => {
        const chain = domain.disks.find((d) => d.target === tip.target && d.file === tip.file)?.chain ?? [];
        return (
          <section className="panel-section" key={tip.target} data-testid={`disk-${tip.target}`}>
            <h3>
              <DiskIcon /> {domain.state === 'folder' ? 'Image' : tip.target}
            </h3>
            <FileRow
              domain={domain}
              label="Tip"
              hint={domain.problems.some((p) => FREEZES_DOMAIN.has(p.code) || (FREEZES_FILE.has(p.code) && p.path === tip.file)) ? "this branch's own changes; the app does not write it (see the problem below)" : "this branch's own changes, writable"}
              path={tip.file}
            />
            {chain.length > 1 ? (
              <details className="chain">
                <summary>Backing chain: {chain.length} files</summary>
                <ol>
                  {chain.map((path) => (
                    <li key={path} title={path}>
                      <code>{fileName(path)}</code> <span className="muted small">{formatBytes(domain.layers[path]?.actualSize ?? 0)}</span>
                    </li>
                  ))}
                </ol>
              </details>
            ) : null}
          </section>
        );
      })}
      <CompareButton id={branchNodeId(branch.name)} />
      <HealthSection domain={domain} paths={branch.tips.map((t) => t.file)} />
      <ProblemList problems={problemsOn(domain, branch.tips.map((t) => t.file)).filter((p) => p.severity === 'info' && p.code !== 'locked')} />
    </>
  );
}

function DomainSummary({ domain }: { domain: Domain }): ReactElement {
  const folder = domain.state === 'folder';
  const total = Object.values(domain.layers).reduce((sum, l) => sum + l.actualSize, 0);
  return (
    <>
      <header className="panel-header">
        <span className="panel-kind">{folder ? 'Image tree' : 'Domain'}</span>
        <h2 data-testid="details-title">{domain.name}</h2>
        <dl className="facts">
          <dt>State</dt>
          <dd>{domain.state}</dd>
          <dt>Snapshots</dt>
          <dd>{domain.snapshots.length}</dd>
          <dt>Branches</dt>
          <dd>{domain.branches.length}</dd>
          <dt>Files</dt>
          <dd>
            {Object.keys(domain.layers).length} ({formatBytes(total)})
          </dd>
        </dl>
      </header>
      {domain.disks.length > 0 ? (
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
      ) : null}
      <p className="explain muted">Select a node to see its files. Arrow keys move between nodes; F fits the view; Home goes to You are here.</p>
      <HealthSection domain={domain} paths={Object.keys(domain.layers)} />
      {/* Problems on the domain's files are in the health section above; the rest (missing files too) here. */}
      <ProblemList problems={domain.problems.filter((p) => p.path === undefined || domain.layers[p.path] === undefined || (p.severity === 'info' && p.code !== 'locked'))} />
    </>
  );
}

export function DetailsPanel({ domain }: { domain: Domain }): ReactElement {
  const nodeId = useAppStore(selectNodeId);
  const view = useAppStore(selectView);
  const fileId = useAppStore(selectFileId);
  const nodes = snapshotGraph(domain);
  const node = view === 'snapshots' ? nodes.find((n) => n.id === nodeId) : undefined;
  return (
    <div aria-label="Details" data-testid="details-panel">
      {view === 'files' && fileId !== null ? (
        <FileDetails domain={domain} />
      ) : node?.snapshot ? (
        <SnapshotDetails domain={domain} snapshot={node.snapshot} nodes={nodes} />
      ) : node?.branch ? (
        <BranchDetails domain={domain} branch={node.branch} />
      ) : (
        <DomainSummary domain={domain} />
      )}
    </div>
  );
}
