import { Handle, Position, type NodeProps } from '@xyflow/react';
import { memo, useCallback, type ReactElement } from 'react';
import { dataFileWords, type CrossDomainLink } from '../../shared/file-graph';
import { layerNotes } from '../../shared/format-tree';
import type { Domain } from '../../shared/model';
import type { AppState } from '../store/store';
import type { FileFlowNode, GroupNodeData } from '../graph/file-layout';
import { sharedPrefix, shortFileName } from '../graph/short-name';
import { useAppStore } from '../store/context';
import { selectDomain } from '../store/selectors';
import { FitName } from './FitName';
import { fileName, formatBytes, modeText, ownerName } from './format';
import { FileIcon, HereIcon, LockIcon, TrashIcon, WarnIcon } from './Icons';
import './FileNode.css';

const ROLE_LABEL = { tip: 'tip', loose: 'loose file', state: 'saved state', base: 'base image', layer: 'layer', trash: 'in the trash' } as const;

type FileData = Extract<FileFlowNode, { type: 'file' }>['data'];

const prefixes = new WeakMap<Domain, string>();
/** The start every file name of the open domain shares ("web01."), worked out once per scan. */
function selectFilePrefix(state: AppState): string {
  const domain = selectDomain(state);
  if (domain === null) return '';
  let prefix = prefixes.get(domain);
  if (prefix === undefined) {
    prefix = sharedPrefix(Object.keys(domain.layers).map(fileName));
    prefixes.set(domain, prefix);
  }
  return prefix;
}

/** The node's title row: its icon (or comparison side), name, and the frozen and health badges. */
function FileNodeTitle({ data }: { data: FileData }): ReactElement {
  const name = fileName(data.trash?.original ?? data.path);
  const prefix = useAppStore(selectFilePrefix);
  const cut = useCallback((n: number) => shortFileName(name, prefix, n), [name, prefix]);
  return (
    <div className="file-node-title">
      {data.side ? (
        <span className={`side-badge side-${data.side}`} data-testid={`side-${data.side}`}>
          {data.side}
        </span>
      ) : (
        <span className="snap-node-icon">{data.role === 'trash' ? <TrashIcon /> : data.current ? <HereIcon /> : <FileIcon />}</span>
      )}
      <FitName className="snap-node-name" name={name} cut={cut} grow />
      {data.frozenBy.length > 0 ? (
        <span className="chip chip-frozen" title={`Frozen: ${data.frozenBy.map((d) => d.description).join('; ')}`} role="img" aria-label="frozen">
          <LockIcon />
        </span>
      ) : null}
      {data.findings.length > 0 ? (
        <span className="chip chip-warn health-badge" title={data.findings.join('\n')} data-testid="health-badge">
          <WarnIcon /> {data.findings.length}
        </span>
      ) : null}
    </div>
  );
}

/** The words before a snapshot's or a branch's name in a file's role (shared/file-graph.ts noteFiles). */
const NAMED = /^(changes made after |saved state of |tip of branch )(.+)$/;

/** A file's role in words; a name in it is cut in the middle to the room left, never at its end. */
function LabelWords({ label }: { label: string }): ReactElement {
  const named = NAMED.exec(label);
  if (named === null) return <FitName name={label} />;
  return (
    <>
      <span className="file-node-words">{named[1]}</span>
      <FitName name={named[2] ?? ''} />
    </>
  );
}

/** Words for the other domains built on a file: "clone web01-clone", "other domain db2", "3 other domains". */
export function crossDomainWords(links: readonly CrossDomainLink[]): string {
  const names = [...new Set(links.map((l) => l.domain))];
  const [first] = links;
  if (names.length === 1 && first !== undefined) return `${first.clone ? 'clone' : 'domain'} ${first.domain}`;
  return `${names.length} other domains`;
}

/**
 * The file's link to the files of other domains built on it (a linked clone's overlays): drawn as a line on the
 * node, not as an edge, since those files are outside this domain's layout; the details list them.
 */
function CrossDomainRow({ links }: { links: readonly CrossDomainLink[] | undefined }): ReactElement | null {
  if (links === undefined || links.length === 0) return null;
  const title = links.map((l) => `${l.clone ? 'Clone' : 'Domain'} ${l.domain} builds on it: ${l.file}`).join('\n');
  return (
    <div className="file-node-what file-node-cross" data-testid="cross-domain-link" title={title}>
      <span aria-hidden="true">→ </span>
      <span className="chip chip-clone">
        {new Set(links.map((l) => l.domain)).size === 1 ? (
          <>
            <span className="chip-clone-words">{links[0]?.clone === true ? 'clone' : 'domain'}</span>
            <FitName name={links[0]?.domain ?? ''} />
          </>
        ) : (
          crossDomainWords(links)
        )}
      </span>
    </div>
  );
}

/**
 * One image file: its name, what it is to the user, sizes, format, owner and mode, whether it is frozen, and its
 * external data file when it has one (the guest data lives there, so it is part of the file and of its size).
 */
function FileNodeView({ data, selected }: NodeProps<Extract<FileFlowNode, { type: 'file' }>>): ReactElement {
  const layer = data.layer;
  const classes = ['file-node', `role-${data.role}`, data.current ? 'is-current' : '', selected ? 'is-selected' : '', data.mark ? `mark-${data.mark}` : '']
    .filter(Boolean)
    .join(' ');
  const dataFile = data.dataFile;
  const dataBytes = dataFile?.size ?? 0;
  const sizeTitle = layer
    ? `${formatBytes(layer.actualSize + dataBytes)} on the host of a ${formatBytes(layer.virtualSize)} disk${dataFile ? ` (image ${formatBytes(layer.actualSize)}, data file ${formatBytes(dataBytes)})` : ''}`
    : 'Space it takes in the trash';
  return (
    <div className={classes} data-testid={`${data.role === 'trash' ? 'trash' : 'file'}-${fileName(data.trash?.original ?? data.path)}`} data-role={data.role} title={data.path}>
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <FileNodeTitle data={data} />
      <div className={`file-node-what role-text-${data.role}`} title={data.labels.join('\n')}>
        <LabelWords label={data.labels[0] ?? ROLE_LABEL[data.role]} />
        {data.labels.length > 1 ? <span className="muted file-node-more">+{data.labels.length - 1}</span> : null}
      </div>
      {dataFile ? (
        <div className="file-node-what" data-testid="data-file" title={dataFileWords(dataFile) ?? ''}>
          <span className={dataFile.exists === false ? 'error' : 'muted'}>
            + data file {fileName(dataFile.path)}: {dataFile.exists === true ? formatBytes(dataBytes) : dataFile.exists === false ? 'missing' : 'relative name'}
          </span>
        </div>
      ) : null}
      {layer && layerNotes(layer).length > 0 ? (
        <div className="file-node-what" data-testid="layer-notes">
          <span className="muted">{layerNotes(layer).join(', ')}</span>
        </div>
      ) : null}
      <CrossDomainRow links={data.otherDomains} />
      <div className="file-node-meta">
        <span title={sizeTitle}>{formatBytes(layer ? layer.actualSize + dataBytes : (data.trash?.size ?? 0))}</span>
        {layer ? <span className="chip">{layer.format}</span> : null}
        <span className="muted file-node-owner" title="Owner, group and mode">
          {data.layer?.owner ? `${ownerName(data.layer.owner)} ${modeText(data.layer.owner.mode)}` : ''}
        </span>
      </div>
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
}

export const FileNode = memo(FileNodeView);

/** The frame around one disk's files. */
function DiskGroupView({ data }: NodeProps<Extract<FileFlowNode, { type: 'disk' }>>): ReactElement {
  const group: GroupNodeData = data;
  return (
    <div className={`disk-group${group.id === 'trash' ? ' is-trash' : ''}`} data-testid={`disk-group-${group.id}`}>
      <div className="disk-group-label">
        {group.label} <span className="muted small">{group.count} file(s)</span>
      </div>
    </div>
  );
}

export const DiskGroup = memo(DiskGroupView);
