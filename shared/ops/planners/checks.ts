/**
 * The checks every plan passes where it is assembled, whatever planner made it, and the assembly itself: no file
 * outside a folder source is touched (docs/safety.md, rule 10: the scan flags layers reached through symlinks or
 * backing links), nothing goes into a trash folder the scan found unsafe, qemu-img never opens a chain with a link
 * it would have to probe (docs/safety.md, rule 9), and nothing the scan could not vouch for is written or opened
 * (`guard-unvouched.ts`: images with an external data file, layers a file it could not read may depend on).
 */
import { unknownLink } from '../../assemble';
import type { Layer, ScanResult } from '../../model';
import { dirname } from '../../paths';
import { unvouchedCheck } from '../guard-unvouched';
import { perScan } from '../per-scan';
import type { Impact, Intent, PlanResult, Refusal, Step } from '../plan';
import { TRASH_DIR } from '../trash-names';
import type { PlanContext } from './context';

/** The files a step moves, creates, writes or deletes. */
function touchedBy(step: Step): string[] {
  switch (step.kind) {
    case 'create-overlay':
    case 'rebase':
    case 'trash':
    case 'repair':
      return [step.path];
    case 'commit':
    case 'block-commit':
      return [step.top, step.base];
    case 'block-pull':
      return [step.top];
    case 'keep-copy':
      return [step.path, step.copy];
    case 'convert':
      return [step.target];
    case 'copy-nvram':
      return [step.copy];
    case 'create-snapshot':
      return [...Object.values(step.overlays), ...(step.memoryFile ? [step.memoryFile] : [])];
    case 'stop-domain':
      return step.memoryFile !== undefined ? [step.memoryFile] : [];
    default:
      return [];
  }
}

/** The images a step has qemu-img open, each with its whole backing chain. */
function openedBy(step: Step): string[] {
  switch (step.kind) {
    case 'create-overlay':
      return [step.backing];
    case 'rebase':
      return [step.path, step.backing];
    case 'commit':
      return [step.top];
    case 'convert':
      return [step.source];
    case 'repair':
      return [step.path];
    default:
      return [];
  }
}

const outsideFolder = (path: string, folder: string | null): Refusal => ({
  code: 'E_NOT_SUPPORTED',
  message: `${path} lies outside the folder ${folder ?? ''} (reached through a symbolic link or a backing link); the app never moves, writes or deletes files outside the folder it was given.`,
  details: { path },
});

const unsafeTrash = (trash: string): Refusal => ({
  code: 'E_NOT_SUPPORTED',
  message: `The trash folder ${trash} is not the engine's own (a symbolic link, another owner or another mode); nothing is moved into it. Move it away and check who made it.`,
  details: { path: trash },
});

const unknownChain = (path: string, link: string): Refusal => ({
  code: 'E_NOT_SUPPORTED',
  message: `qemu-img would open ${path}, whose chain has a backing link it cannot follow as recorded at ${link} (no recorded format, or a file that was not read); it is never probed. Fix that link first.`,
  details: { path, link },
});

/** What the checks need to know of the host, gathered once per scan (`per-scan.ts`): every plan on it asks. */
const hostOf = perScan((scan: ScanResult) => {
  const problems = [...scan.problems, ...scan.domains.flatMap((d) => d.problems)];
  const flagged = (code: string) => new Set(problems.flatMap((p) => (p.code === code && p.path !== undefined ? [p.path] : [])));
  const layers: Record<string, Layer> = {};
  for (const domain of scan.domains) Object.assign(layers, domain.layers);
  return {
    outside: flagged('outside-folder'),
    badTrash: flagged('unsafe-trash'),
    layers,
    folder: scan.source.kind === 'folder' ? scan.source.path : null,
    unvouched: unvouchedCheck(scan, layers),
  };
});

/** The first step that breaks a rule of the module comment, as a refusal; null when the plan may stand. */
function checkSteps(ctx: PlanContext, steps: Step[]): Refusal | null {
  const { outside, badTrash, layers, folder, unvouched } = hostOf(ctx.scan);
  for (const step of steps) {
    const touched = touchedBy(step);
    const out = touched.find((path) => outside.has(path) || (folder !== null && !path.startsWith(`${folder}/`)));
    if (out !== undefined) return outsideFolder(out, folder);
    const trash = step.kind === 'trash' || step.kind === 'keep-copy' ? `${dirname(step.path)}/${TRASH_DIR}` : null;
    if (trash !== null && badTrash.has(trash)) return unsafeTrash(trash);
    const refused = unvouched(step, touched, openedBy(step));
    if (refused !== null) return refused;
    for (const path of openedBy(step)) {
      const link = unknownLink(layers, path);
      if (link !== null) return unknownChain(path, link);
    }
  }
  return null;
}

/** The plan, once its steps pass the checks; its point of no return is its first commit (by qemu-img or a block job) or repair. */
export function finishPlan(ctx: PlanContext, intent: Intent, steps: Step[], impactOf: Impact, warnings: string[] = []): PlanResult {
  const refusal = checkSteps(ctx, steps);
  if (refusal !== null) return { ok: false, refusal };
  const firstCommit = steps.findIndex((s) => s.kind === 'commit' || s.kind === 'block-commit' || s.kind === 'repair');
  return {
    ok: true,
    plan: { id: ctx.operationId, intent, source: ctx.scan.source, steps, pointOfNoReturn: firstCommit === -1 ? null : firstCommit, impact: impactOf, warnings },
  };
}
