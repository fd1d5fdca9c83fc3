import { useMemo, type ReactElement } from 'react';
import { fileGraph, type FileNode } from '../../shared/file-graph';
import { layerNotes } from '../../shared/format-tree';
import type { Domain } from '../../shared/model';
import { useAppActions, useAppStore } from '../store/context';
import { selectFileId, selectInspectActions, selectPanelActions, selectScanResult, selectTrash } from '../store/selectors';
import { fileName, formatBytes, formatTime, modeText, ownerName } from './format';
import { HealthSection } from './HealthSection';
import { DomainLink } from './UsedByChip';
import { CompareIcon, FileIcon, LockIcon, TrashIcon } from './Icons';

const ROLE_TEXT = {
  tip: 'A tip: the file a VM or a branch writes to. Nothing is built on it, so it may change.',
  loose: 'A loose file: it builds on this graph but no snapshot or branch record names it. Shown so it is never lost.',
  state: "A saved state: a snapshot's disk at the moment it was taken. Read-only for good.",
  base: 'A base image: it has no backing file.',
  layer: 'A layer in the middle of a chain.',
  trash: 'In the trash: an operation moved it aside. Restore it from the Trash tab, or empty the trash to free its space.',
} as const;

/** The image's own facts: format, virtual size, what it holds. */
function ImageFacts({ layer }: { layer: NonNullable<FileNode['layer']> }): ReactElement {
  const notes = layerNotes(layer);
  return (
    <>
      <dt>Format</dt>
      <dd>{layer.format}</dd>
      <dt>Virtual size</dt>
      <dd>{formatBytes(layer.virtualSize)}</dd>
      {notes.length > 0 ? (
        <>
          <dt>Holds</dt>
          <dd data-testid="details-layer-notes" title="The app holds no encryption secrets, so it does not compare, commit, rebase, repair or build on an encrypted image's chain.">
            {notes.join(', ')}
          </dd>
        </>
      ) : null}
    </>
  );
}

/** Space on the host, and the external data file when the guest data lives in one. */
function SpaceFacts({ node }: { node: FileNode }): ReactElement {
  const { layer, dataFile } = node;
  return (
    <>
      <dt>On the host</dt>
      <dd>
        {formatBytes(layer ? layer.actualSize + (dataFile?.size ?? 0) : (node.trash?.size ?? 0))}
        {layer && dataFile ? <span className="muted small"> (image {formatBytes(layer.actualSize)}, data file {formatBytes(dataFile.size)})</span> : null}
      </dd>
      {dataFile ? (
        <>
          <dt>Data file</dt>
          <dd data-testid="details-data-file" title="The guest data of this disk lives in this external data file; the image holds only its metadata.">
            <code>{dataFile.path}</code>{' '}
            {dataFile.exists === false ? <span className="chip chip-warn">missing: the disk cannot be opened</span> : null}
            {dataFile.exists === null ? (
              <span className="chip chip-warn" title="QEMU opens a relative data file name from the working directory of the process that opens the image, not from the image's folder">
                relative name: which file depends on who opens it
              </span>
            ) : null}
          </dd>
        </>
      ) : null}
    </>
  );
}

/** Who owns the file, its mode and when it was last written. */
function OwnerFacts({ owner }: { owner: NonNullable<NonNullable<FileNode['layer']>['owner']> }): ReactElement {
  return (
    <>
      <dt>Owner</dt>
      <dd>
        {ownerName(owner)}
      </dd>
      <dt>Mode</dt>
      <dd>
        {modeText(owner.mode)}
        {(owner.mode & 0o004) !== 0 ? <span className="chip chip-warn" title="Every user of the host can read the guest's disk">world-readable</span> : null}
      </dd>
      <dt>Last written</dt>
      <dd>{formatTime(owner.modified)}</dd>
    </>
  );
}

/** The file's facts, from format to the file it is built on. */
function FileFacts({ node }: { node: FileNode }): ReactElement {
  const layer = node.layer;
  return (
    <dl className="facts">
      {layer ? <ImageFacts layer={layer} /> : null}
      <SpaceFacts node={node} />
      {layer?.owner ? <OwnerFacts owner={layer.owner} /> : null}
      <dt>Built on</dt>
      <dd>
        {layer?.backing ? (
          <>
            <code title={layer.backing}>{fileName(layer.backing)}</code> {layer.backingFormat ? `(${layer.backingFormat})` : <span className="chip chip-warn">format not recorded</span>}
          </>
        ) : (
          (node.trash?.backing ?? 'nothing')
        )}
      </dd>
    </dl>
  );
}

/** What keeps the file from being written: the snapshots and files that read it. */
function FrozenSection({ node }: { node: FileNode }): ReactElement {
  return (
    <section className="panel-section" data-testid="frozen-section">
      <h3>
        <LockIcon /> {node.frozenBy.length > 0 ? 'Frozen' : 'Not frozen'}
      </h3>
      {node.frozenBy.length > 0 ? (
        <>
          <p className="small">Writing to it would change what these read, so the app never does:</p>
          <ul className="small">
            {node.frozenBy.map((d) => (
              <li key={`${d.kind}${d.domain}${d.name}${d.description}`}>{d.description}</li>
            ))}
          </ul>
        </>
      ) : (
        <p className="small muted">Nothing else is built on it and no snapshot holds it.</p>
      )}
    </section>
  );
}

/** The files of other domains built on this one (a linked clone's overlays), each domain a link that opens it. */
function OtherDomainsSection({ node }: { node: FileNode }): ReactElement | null {
  const links = node.otherDomains ?? [];
  if (links.length === 0) return null;
  return (
    <section className="panel-section" data-testid="other-domains-section">
      <h3>Built on by other domains</h3>
      <ul className="small">
        {links.map((l) => (
          <li key={`${l.domain}\0${l.file}`}>
            {l.clone ? 'clone' : 'domain'} <DomainLink name={l.domain} /> <code title={l.file}>{fileName(l.file)}</code>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Compare an image with another node; a trashed file points to the trash instead. */
function FileActions({ node }: { node: FileNode }): ReactElement {
  const { startComparePick: pick } = useAppActions(selectInspectActions);
  const { showTab } = useAppActions(selectPanelActions);
  if (node.layer === null)
    return (
      <button type="button" className="button button-small" onClick={() => showTab('trash')}>
        Open the trash
      </button>
    );
  return (
    <div className="panel-actions">
      <button type="button" className="button button-small" onClick={() => pick(`f:${node.path}`)}>
        <CompareIcon /> Compare with…
      </button>
    </div>
  );
}

/** One file of the file view: what it is, its sizes, owner and mode, its backing link, what freezes it, its health. */
export function FileDetails({ domain }: { domain: Domain }): ReactElement | null {
  const fileId = useAppStore(selectFileId);
  const trash = useAppStore(selectTrash);
  const scan = useAppStore(selectScanResult);
  const node = useMemo(() => (scan ? fileGraph(scan, domain, trash).nodes.find((n) => n.id === fileId) : undefined), [scan, domain, trash, fileId]);
  if (node === undefined) return null;
  return (
    <>
      <header className="panel-header">
        <span className="panel-kind">
          {node.role === 'trash' ? <TrashIcon /> : <FileIcon />} File
        </span>
        <h2 data-testid="details-title">{fileName(node.trash?.original ?? node.path)}</h2>
        <code className="file-dir muted small">{node.path}</code>
      </header>
      <p className="explain">{ROLE_TEXT[node.role]}</p>
      {node.labels.length > 0 ? (
        <ul className="file-labels">
          {node.labels.map((l) => (
            <li key={l}>{l}</li>
          ))}
        </ul>
      ) : null}
      <FileFacts node={node} />
      <FrozenSection node={node} />
      <OtherDomainsSection node={node} />
      <FileActions node={node} />
      {node.layer ? <HealthSection domain={domain} paths={[node.path]} /> : null}
    </>
  );
}
