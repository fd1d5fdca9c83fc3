/** The details of a branch or tip: where it grows from and the files it writes, with their backing chains. */
import type { ReactElement } from 'react';
import type { Branch, Domain } from '../../shared/model';
import { branchNodeId } from '../../shared/snapshot-graph';
import { CompareButton, FileRow, notesOn, ProblemList } from './details-parts';
import { fileName, formatBytes } from './format';
import { HealthSection } from './HealthSection';
import { BranchIcon, DiskIcon, HereIcon } from './Icons';

/** Problems under which the planners never write a layer, so its tip is not called writable: of the file itself… */
const FREEZES_FILE = new Set<string>(['outside-folder', 'external-data-file', 'not-regular-file']);
/** …or of any file of the domain (a file the scan could not read may be built on any of its layers). */
const FREEZES_DOMAIN = new Set<string>(['unreadable-name', 'unreadable-file']);

const ORIGIN_TEXT: Record<Branch['origin'], string> = {
  domain: "The domain's current disks: what the VM reads and writes when it runs.",
  metadata: 'A branch recorded in the domain definition: kept, not in use.',
  loose: 'A file found on disk that grows from this graph, recorded by nobody. Shown so it is never lost.',
  folder: 'The top of a chain: no other image is built on it, so it is the one that is written.',
};

function BranchHeader({ branch }: { branch: Branch }): ReactElement {
  return (
    <header className="panel-header">
      <span className="panel-kind">
        <BranchIcon /> {branch.origin === 'loose' ? 'Loose tip' : branch.origin === 'folder' ? 'Top image' : 'Branch'}
      </span>
      <h2 data-testid="details-title">{branch.name}</h2>
      {branch.current ? (
        <div className="here-inline">
          <HereIcon /> You are here
        </div>
      ) : null}
      <dl className="facts">
        <dt>Grows from</dt>
        <dd>{branch.base ?? (branch.origin === 'folder' ? 'no other image' : 'no snapshot')}</dd>
      </dl>
    </header>
  );
}

/** What a tip's file holds: a branch's own changes, or in an image folder the image nothing is built on. */
function tipHint(folder: boolean, frozen: boolean): string {
  const what = folder ? 'the image nothing else is built on' : "this branch's own changes";
  return frozen ? `${what}; the app does not write it (see the problem below)` : `${what}, writable`;
}

/** One disk's tip of a branch and the chain of files under it. */
function TipSection({ domain, tip }: { domain: Domain; tip: Branch['tips'][number] }): ReactElement {
  const chain = domain.disks.find((d) => d.target === tip.target && d.file === tip.file)?.chain ?? [];
  const frozen = domain.problems.some((p) => FREEZES_DOMAIN.has(p.code) || (FREEZES_FILE.has(p.code) && p.path === tip.file));
  const folder = domain.state === 'folder';
  return (
    <section className="panel-section" data-testid={`disk-${tip.target}`}>
      <h3>
        <DiskIcon /> {domain.state === 'folder' ? 'Image' : tip.target}
      </h3>
      <FileRow domain={domain} label={folder ? 'Top image' : 'Tip'} hint={tipHint(folder, frozen)} path={tip.file} />
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
}

/** A branch's panel. */
export function BranchDetails({ domain, branch }: { domain: Domain; branch: Branch }): ReactElement {
  return (
    <>
      <BranchHeader branch={branch} />
      <p className="explain">{ORIGIN_TEXT[branch.origin]}</p>
      {branch.tips.map((tip) => (
        <TipSection key={tip.target} domain={domain} tip={tip} />
      ))}
      {branch.memoryFile !== undefined ? (
        <section className="panel-section" data-testid="branch-memory">
          <h3>Memory state</h3>
          <p className="muted small">The VM was left running here: switching to this branch resumes it where it was.</p>
          <code className="file-dir">{branch.memoryFile}</code>
        </section>
      ) : null}
      <CompareButton id={branchNodeId(branch.name)} />
      <HealthSection domain={domain} paths={branch.tips.map((t) => t.file)} />
      <ProblemList problems={notesOn(domain, branch.tips.map((t) => t.file))} />
    </>
  );
}
