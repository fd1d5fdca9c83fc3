/** The details of a snapshot (or, in an image folder, of a backing image): its files and what grows from it. */
import { useEffect, useState, type ReactElement } from 'react';
import type { Domain, Snapshot } from '../../shared/model';
import { editDescriptionAction } from '../../shared/ops/node-actions';
import { freeTextSchema } from '../../shared/validate';
import { snapshotNodeId, type GraphNode } from '../../shared/snapshot-graph';
import { useAppActions, useAppStore } from '../store/context';
import { selectBusy, selectLoadThumbnail, selectOpsActions, selectScanResult, selectSelectionActions, selectSourceId, selectThumbnails } from '../store/selectors';
import { thumbnailKey } from '../store/thumbnail-slice';
import { CompareButton, FileRow, notesOn, ProblemList } from './details-parts';
import { formatTime, stateLabel } from './format';
import { HealthSection } from './HealthSection';
import { BranchIcon, CameraIcon, DiskIcon } from './Icons';
import './SnapshotDetails.css';

function SnapshotHeader({ snapshot, folder }: { snapshot: Snapshot; folder: boolean }): ReactElement {
  return (
    <header className="panel-header">
      <span className="panel-kind">
        <CameraIcon /> {folder ? 'Backing image' : 'Snapshot'}
      </span>
      <h2 data-testid="details-title">{snapshot.name}</h2>
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
  );
}

function SnapshotDisks({ domain, snapshot, folder }: { domain: Domain; snapshot: Snapshot; folder: boolean }): ReactElement {
  return (
    <>
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
    </>
  );
}

/**
 * The snapshot's description, and its Edit: a text box with Save and Cancel. Saving is an operation like the
 * others (it redefines libvirt's record): it is planned and previewed before anything changes.
 */
function Description({ domain, snapshot }: { domain: Domain; snapshot: Snapshot }): ReactElement {
  const [draft, setDraft] = useState<string | null>(null);
  const scan = useAppStore(selectScanResult);
  const busy = useAppStore(selectBusy);
  const { startAction } = useAppActions(selectOpsActions);
  const text = snapshot.description ?? '';
  if (draft === null) {
    return (
      <section className="panel-section snapshot-description" data-testid="snapshot-description-view">
        {text === '' ? <p className="muted">No description.</p> : <p className="description-text">{text}</p>}
        {domain.state === 'folder' ? null : (
          <button type="button" className="link-button" disabled={busy} onClick={() => setDraft(text)} data-testid="edit-description">
            {text === '' ? 'Add a description' : 'Edit description'}
          </button>
        )}
      </section>
    );
  }
  const parsed = freeTextSchema.safeParse(draft);
  const problem = parsed.success ? null : (parsed.error.issues[0]?.message ?? 'Not a valid text.');
  const save = () => {
    if (scan === null || problem !== null) return;
    startAction(editDescriptionAction(scan, domain, snapshot.name, draft));
    setDraft(null);
  };
  return (
    <section className="panel-section snapshot-description">
      <label className="field">
        <span>Description of {snapshot.name}</span>
        <textarea
          className="description-box"
          value={draft}
          rows={4}
          autoFocus
          aria-invalid={problem !== null}
          data-testid="description-input"
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Escape') setDraft(null);
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) save();
          }}
        />
        {problem !== null ? <span className="field-error">{problem}</span> : null}
      </label>
      <div className="description-actions">
        <button type="button" className="button button-small" onClick={() => setDraft(null)}>
          Cancel
        </button>
        <button type="button" className="button button-small button-primary" disabled={problem !== null || draft === text || busy} onClick={save} data-testid="save-description">
          Save…
        </button>
      </div>
    </section>
  );
}

/** The screen of the running VM when the snapshot was taken, where one was kept; nothing otherwise. */
function Thumbnail({ domain, snapshot }: { domain: Domain; snapshot: Snapshot }): ReactElement | null {
  const load = useAppStore(selectLoadThumbnail);
  const sourceId = useAppStore(selectSourceId);
  const image = useAppStore(selectThumbnails)[thumbnailKey(sourceId, domain.name, snapshot.name, snapshot.created)];
  useEffect(() => {
    void load(domain.name, snapshot.name, snapshot.created);
  }, [load, domain.name, snapshot.name, snapshot.created]);
  if (image === undefined || image === null) return null;
  return (
    <figure className="snapshot-thumbnail" data-testid="snapshot-thumbnail">
      <img src={image} alt={`The screen of ${domain.name} when ${snapshot.name} was taken`} />
      <figcaption className="muted small">The screen when it was taken</figcaption>
    </figure>
  );
}

/** The nodes that grow from this one, as links. */
function LeadsTo({ next }: { next: GraphNode[] }): ReactElement | null {
  const { selectNode } = useAppActions(selectSelectionActions);
  if (next.length === 0) return null;
  return (
    <section className="panel-section">
      <h3>Leads to</h3>
      <div className="child-links">
        {next.map((c) => (
          <button type="button" className="link-button" key={c.id} onClick={() => selectNode(c.id)}>
            {c.kind === 'branch' ? <BranchIcon /> : <CameraIcon />} {c.name}
          </button>
        ))}
      </div>
    </section>
  );
}

/** A snapshot's panel. */
export function SnapshotDetails({ domain, snapshot, nodes }: { domain: Domain; snapshot: Snapshot; nodes: GraphNode[] }): ReactElement {
  const folder = domain.state === 'folder';
  return (
    <>
      <SnapshotHeader snapshot={snapshot} folder={folder} />
      {folder ? null : <Description domain={domain} snapshot={snapshot} />}
      {folder ? null : <Thumbnail domain={domain} snapshot={snapshot} />}
      <p className="explain">
        {folder
          ? 'Other images are built on this file, so it holds a saved state: it must never be written again.'
          : 'The saved state lives in the file below, read-only. The file named after the snapshot holds the changes made after it was taken.'}
      </p>
      <SnapshotDisks domain={domain} snapshot={snapshot} folder={folder} />
      <LeadsTo next={nodes.filter((n) => n.parentId === snapshotNodeId(snapshot.name))} />
      <CompareButton id={snapshotNodeId(snapshot.name)} />
      <HealthSection domain={domain} paths={snapshot.disks.flatMap((d) => (d.stateLayer === null ? [] : [d.stateLayer]))} />
      <ProblemList problems={notesOn(domain, snapshot.disks.flatMap((d) => [d.stateLayer, d.overlay]))} />
    </>
  );
}
