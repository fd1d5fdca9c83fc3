/**
 * The backing chain a domain's VM reads, where the domain XML states one. libvirt 9.0 keeps a `<backingStore>`
 * the user writes in the inactive definition and hands exactly that chain to QEMU (with -blockdev), whatever the
 * image headers say: each level's `<source>` and `<format>` is the base of the level above; an empty
 * `<backingStore/>` ends the chain (QEMU opens the image with no backing at all); a level with no
 * `<backingStore>` inside it continues with its own headers. A disk with no `<backingStore>` is read from the
 * headers. A running domain's live XML states the chain its QEMU has open. (Checked with `info block -v` on a
 * running VM: see vm-chain.test.ts.)
 *
 * The graph shows that chain, because it is what the guest sees. qemu-img follows the headers instead, so where
 * they disagree every plan on the domain must be refused: an error problem on the disk.
 */
import { DOMParser, type Element } from '@xmldom/xmldom';
import type { Layer, Problem } from '../../shared/model';
import { describeSource } from './disk-source';
import { children } from './libvirt-xml';

/** One level of a stated chain: a local file (verbatim, absolute) or a description of another source. */
export interface StatedLevel {
  file: string | null;
  describe: string;
  format: string | null;
}

/** The chain a disk's XML states below its top image. */
export interface StatedChain {
  levels: StatedLevel[];
  /** True when it ends with an empty `<backingStore/>`: the last level (or the top, with no levels) has no backing. */
  terminated: boolean;
}

const attr = (el: Element | null | undefined, name: string): string | null => (el?.hasAttribute(name) ? el.getAttribute(name) : null);

/** The stated chain of each disk of a domain XML, by target; disks without a `<backingStore>` are left out. */
export function statedChains(xml: string): Map<string, StatedChain> {
  return statedChainsOf(new DOMParser().parseFromString(xml, 'text/xml').documentElement);
}

/** The stated chains of a parsed domain definition (libvirt-xml.ts, parseDomainXml). */
export function statedChainsOf(root: Element | null): Map<string, StatedChain> {
  const out = new Map<string, StatedChain>();
  const devices = root === null ? undefined : children(root, 'devices')[0];
  for (const disk of devices === undefined ? [] : children(devices, 'disk')) {
    const target = attr(children(disk, 'target')[0], 'dev');
    let level = children(disk, 'backingStore')[0];
    if (target === null || level === undefined) continue;
    const levels: StatedLevel[] = [];
    let terminated = false;
    while (level !== undefined) {
      // libvirt writes the terminator as a `<backingStore/>` without a type.
      if (!level.hasAttribute('type')) {
        terminated = true;
        break;
      }
      const type = attr(level, 'type') ?? 'file';
      const source = children(level, 'source')[0];
      const file = type === 'file' ? attr(source, 'file') : null;
      levels.push({
        file: file !== null && file.startsWith('/') ? file : null,
        describe: describeSource(type, (a) => attr(source, a)) ?? `(${type})`,
        format: attr(children(level, 'format')[0], 'type'),
      });
      level = children(level, 'backingStore')[0];
    }
    out.set(target, { levels, terminated });
  }
  return out;
}

/** What reading a stated chain needs of the layer reader. */
export interface StatedReader {
  readonly layers: Record<string, Layer>;
  read(path: string, format: string | null, options: { shared?: boolean; referrer?: string }): Promise<string | null>;
}

/** The VM's chain for one disk: layers re-linked as the VM reads them, and the disagreement with the headers. */
export interface VmChain {
  /** Copies of layers whose `backing` is what the VM reads; they replace the header readings in this domain. */
  overrides: Record<string, Layer>;
  problem: Omit<Problem, 'domain'> | null;
}

/**
 * Reads the levels of `stated` below the disk's top layer `top` (canonical) and links them as the VM does.
 * `label` names the disk for the reader's format bookkeeping, e.g. `domain "web" disk vda`.
 */
export async function readVmChain(reader: StatedReader, top: string, target: string, stated: StatedChain, label: string, shared: boolean): Promise<VmChain> {
  const overrides: Record<string, Layer> = {};
  let problem: Omit<Problem, 'domain'> | null = null;
  let above = top;
  const levels = [...stated.levels];
  for (let i = 0; i <= levels.length; i += 1) {
    const layer = reader.layers[above];
    if (layer === undefined) break;
    const level = levels[i];
    // Below the last stated level the VM follows the headers, unless libvirt's terminator ends the chain there.
    if (level === undefined && !stated.terminated) break;
    const real = level?.file != null ? await reader.read(level.file, level.format, { shared, referrer: `the <backingStore> of ${label}` }) : null;
    const vmBase = level === undefined ? null : (real ?? level.file ?? level.describe);
    const vmFormat = level?.format ?? null;
    if (problem === null && (vmBase !== layer.backing || (vmBase !== null && vmFormat !== layer.backingFormat))) {
      problem = mismatch(target, above, layer, vmBase, vmFormat);
    }
    overrides[above] = { ...layer, backing: vmBase, backingFormat: vmFormat };
    if (real === null) break;
    above = real;
  }
  return { overrides, problem };
}

function mismatch(target: string, above: string, layer: Layer, vmBase: string | null, vmFormat: string | null): Omit<Problem, 'domain'> {
  // Formats are named only when the file is the same and the format is what differs.
  const sameFile = vmBase !== null && vmBase === layer.backing;
  const headerSays = layer.backing === null ? 'no backing file' : `${layer.backing}${sameFile ? ` as ${layer.backingFormat ?? '(no format)'}` : ''}`;
  const vmReads =
    vmBase === null
      ? `the VM reads ${above} with no backing file (the domain's empty <backingStore/>)`
      : `the VM reads ${vmBase}${sameFile ? ` as ${vmFormat ?? '(no format)'}` : ''} as the base of ${above} (the domain's <backingStore>)`;
  const fix = vmBase === null ? `qemu-img rebase -u -b "" ${above}` : `qemu-img rebase -u -F ${vmFormat ?? 'FORMAT'} -b ${vmBase} ${above}`;
  return {
    code: 'backing-mismatch',
    severity: 'error',
    message:
      `Disk ${target}: ${vmReads}, but the image's header names ${headerSays}; qemu-img would act on ${layer.backing ?? 'the image alone'}: ` +
      `the app refuses operations on this disk until they agree — fix the header with \`${fix}\` or remove the <backingStore> from the definition.`,
    target,
    path: above,
  };
}
