/**
 * The part of the plan guard about files the scan could not vouch for. An image with an external data file
 * makes qemu-img read and write a second file its header names, which may be any file on the host: no step
 * writes, moves or deletes such an image, and no step has qemu-img (or libvirt's) open a chain holding one.
 * A file the scan could not read in an image directory (a name that is not valid UTF-8, no permission, a broken
 * header) may be built on any layer there, and no frozen layer is ever written (docs/safety.md, rule 1): no step
 * writes, moves or deletes the layers it could depend on. New files (overlays, snapshots) are still made.
 * An encrypted image's guest data needs its secret, which the app does not hold: no step opens a chain holding one.
 */
import { flaggedInChain, flaggedPaths } from '../assemble';
import type { Layer, Problem, ScanResult } from '../model';
import { basename } from '../paths';
import type { Refusal, Step } from './plan';

/**
 * What the app would need before it could act on an image with an external data file: said in every refusal,
 * so the user knows the refusal is a missing feature, not a fault of the image.
 */
const DATA_FILE_NEEDS =
  'To act on it the app would have to carry the data file along with its image (check that it lies inside the same folder, ' +
  'copy, move or trash the two together, and name it to qemu-img explicitly), which it does not do yet. ' +
  'To work on this disk with the app, first merge the data back into the image: qemu-img convert -O qcow2 IMAGE NEW_IMAGE, and use NEW_IMAGE.';

/** Problems about a file that may depend on layers the scan did see. */
const HIDDEN: ReadonlySet<Problem['code']> = new Set(['unreadable-name', 'unreadable-file']);

/** What the check knows about one scan: the flagged files, and which layers libvirt opens for a step. */
interface Unvouched {
  layers: Record<string, Layer>;
  dataFiles: Set<string>;
  /**
   * Layers whose backing link no tool here can follow as QEMU does: a name that is not a local file, or one whose
   * file depends on the path the image is opened by (the engine hands tools real paths).
   */
  unfollowed: Map<string, Problem>;
  /** Encrypted layers need their secret for every step that reads or writes guest data through their chain. */
  encrypted: Set<string>;
  /** Layers a hidden file may be built on, each with the problem that says so. */
  frozen: Map<string, Problem>;
  openedByLibvirt: (step: Step) => string[];
}

/**
 * In a folder source a hidden file may be built on any image of the folder; in a libvirt source, on any layer
 * of a domain with a layer in its directory (the scan puts the problem on each such domain).
 */
function frozenLayers(scan: ScanResult): Map<string, Problem> {
  const frozen = new Map<string, Problem>();
  const folderWide = scan.problems.find((p) => HIDDEN.has(p.code));
  for (const domain of scan.domains) {
    const why = folderWide ?? domain.problems.find((p) => HIDDEN.has(p.code));
    if (why === undefined) continue;
    for (const path of Object.keys(domain.layers)) if (!frozen.has(path)) frozen.set(path, why);
  }
  return frozen;
}

/** Gathers from one scan the files the check refuses to touch or open. */
function gatherUnvouched(scan: ScanResult, layers: Record<string, Layer>): Unvouched {
  const problems = [...scan.problems, ...scan.domains.flatMap((d) => d.problems)];
  // libvirt makes the new overlays of a snapshot on the domain's current files, opening their chains.
  const openedByLibvirt = (step: Step): string[] => {
    if (step.kind !== 'create-snapshot') return [];
    const domain = scan.domains.find((d) => d.name === step.domain);
    return (domain?.disks ?? []).filter((d) => d.managed && d.file !== null && step.overlays[d.target] !== undefined).map((d) => d.file as string);
  };
  return {
    layers,
    dataFiles: flaggedPaths(problems, 'external-data-file'),
    unfollowed: new Map(problems.filter((p) => (p.code === 'not-managed' || p.code === 'ambiguous-backing') && p.path !== undefined).map((p) => [p.path as string, p])),
    encrypted: new Set(Object.values(layers).filter((l) => (l.encrypted ?? null) !== null).map((l) => l.path)),
    frozen: frozenLayers(scan),
    openedByLibvirt,
  };
}

/** The refusal for a step that would write, move or delete `path`, or null when the scan vouches for it. */
function refuseTouch(u: Unvouched, path: string): Refusal | null {
  if (u.dataFiles.has(path)) {
    return {
      code: 'E_NOT_SUPPORTED',
      message: `${path} keeps its guest data in an external data file, which may be any file on the host, so the app does not write, move or delete it. ${DATA_FILE_NEEDS}`,
      details: { path, dataFileImage: path },
    };
  }
  const split = u.unfollowed.get(path);
  if (split?.code === 'ambiguous-backing') {
    return { code: 'E_NOT_SUPPORTED', message: `${basename(path)} is not written, moved or deleted: ${split.message}`, details: { path, problem: split } };
  }
  const why = u.frozen.get(path);
  if (why !== undefined) {
    return {
      code: 'E_NOT_SUPPORTED',
      message: `${basename(path)} is not written, moved or deleted: a file the scan could not read may be built on it. ${why.message}`,
      details: { path, problem: why },
    };
  }
  return null;
}

/** The refusal for a step that would have qemu-img open `path` with its chain, or null when the chain is vouched for. */
function refuseOpen(u: Unvouched, path: string): Refusal | null {
  const { layers } = u;
  const locked = flaggedInChain(layers, path, u.encrypted);
  if (locked !== null) {
    return {
      code: 'E_NOT_SUPPORTED',
      message: `qemu-img would open ${path}, whose chain has an encrypted image (${locked}, ${layers[locked]?.encrypted ?? ''}); its guest data cannot be read or written without its secret, which the app does not handle yet.`,
      details: { path, encryptedImage: locked },
    };
  }
  const at = flaggedInChain(layers, path, u.dataFiles);
  if (at !== null) {
    return {
      code: 'E_NOT_SUPPORTED',
      message: `qemu-img would open ${path}, whose chain has an image with an external data file (${at}); it would read or write a file the app cannot vouch for, so the app does not open it. ${DATA_FILE_NEEDS}`,
      details: { path, dataFileImage: at },
    };
  }
  const link = flaggedInChain(layers, path, new Set(u.unfollowed.keys()));
  if (link !== null) {
    const problem = u.unfollowed.get(link) as Problem;
    return { code: 'E_NOT_SUPPORTED', message: `${path} is not opened: its chain has a backing link the app does not follow. ${problem.message}`, details: { path, problem } };
  }
  return null;
}

/**
 * Builds the check for one scan. `touched` are the files a step creates, writes, moves or deletes; `opened`
 * the images it has qemu-img open with their whole chains.
 */
export function unvouchedCheck(
  scan: ScanResult,
  layers: Record<string, Layer>,
): (step: Step, touched: string[], opened: string[]) => Refusal | null {
  const u = gatherUnvouched(scan, layers);
  return (step, touched, opened) => {
    for (const path of touched) {
      const refusal = refuseTouch(u, path);
      if (refusal !== null) return refusal;
    }
    for (const path of [...opened, ...u.openedByLibvirt(step)]) {
      const refusal = refuseOpen(u, path);
      if (refusal !== null) return refusal;
    }
    return null;
  };
}
