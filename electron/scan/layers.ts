/**
 * Reads layers: canonical paths, backing links and sizes. The chain's shape comes from the qcow2 headers
 * (in process), so a missing backing file, a link without a format, or a cycle is found without opening
 * anything; sizes and formats then come from `qemu-img info`, one `--backing-chain` call per new chain.
 */
import { realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import pLimit from 'p-limit';
import type { Layer, Problem } from '../../shared/model';
import { AppError } from '../../shared/errors';
import { readQcow2Header, type Qcow2Header } from '../tools/qcow2-header';
import { isLockError, qemuImgInfo, type ImageInfo } from '../tools/qemu-img';

/** A layer as the headers describe it, before qemu-img has been asked. */
interface Link {
  path: string;
  format: string;
  backing: string | null;
  backingName: string | null;
  backingFormat: string | null;
}

/** Resolves a path to its canonical form; null when it does not exist. */
export async function canonical(path: string): Promise<string | null> {
  try {
    return await realpath(path);
  } catch {
    return null;
  }
}

/** Resolves a backing name against the overlay's own directory, as QEMU does. */
export function resolveBackingName(overlay: string, name: string): string {
  return isAbsolute(name) ? name : resolve(dirname(overlay), name);
}

export interface LayerReaderOptions {
  /** Processes of qemu-img at once. */
  concurrency?: number;
}

/**
 * Collects layers across one scan. Each file is read once; concurrent requests for one path share the work.
 * Problems are reported once per file and kind.
 */
export class LayerReader {
  readonly layers: Record<string, Layer> = {};
  private readonly problems = new Map<string, Problem>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly headers = new Map<string, Promise<Qcow2Header | null>>();
  private readonly limit: ReturnType<typeof pLimit>;

  constructor(options: LayerReaderOptions = {}) {
    this.limit = pLimit(options.concurrency ?? 4);
  }

  /** Problems found so far about `paths` (or all, when omitted). */
  problemsFor(paths?: Set<string>): Problem[] {
    const all = [...this.problems.values()];
    return paths === undefined ? all : all.filter((p) => p.path !== undefined && paths.has(p.path));
  }

  /** The qcow2 header of a file, read once per scan; null when the file is not qcow2 or cannot be read. */
  header(path: string): Promise<Qcow2Header | null> {
    let pending = this.headers.get(path);
    if (pending === undefined) {
      pending = readQcow2Header(path).catch(() => null);
      this.headers.set(path, pending);
    }
    return pending;
  }

  /**
   * Reads the chain that starts at `path`. `format` is what the referrer says the file is (domain XML, a
   * child's backing format); null means "qcow2 if its header says so, else not an image".
   * Returns the canonical path, or null when the file is missing or not an image.
   */
  async read(path: string, format: string | null, options: { shared?: boolean } = {}): Promise<string | null> {
    const real = await canonical(path);
    if (real === null) {
      this.report({ code: 'missing-file', severity: 'error', message: `The image ${path} does not exist.`, path });
      return null;
    }
    if (this.layers[real] !== undefined) return real;
    let pending = this.inFlight.get(real);
    if (pending === undefined) {
      pending = this.readChain(real, format, options.shared ?? false);
      this.inFlight.set(real, pending);
    }
    await pending;
    return this.layers[real] !== undefined ? real : null;
  }

  private report(problem: Problem): void {
    this.problems.set(`${problem.code}\0${problem.path ?? ''}`, problem);
  }

  /** Walks the headers from `top` down to a base, a layer already read, or a broken link. */
  private async walk(top: string, format: string | null): Promise<{ links: Link[]; clean: boolean; tailKnown: boolean }> {
    const links: Link[] = [];
    const seen = new Set<string>();
    let at: string | null = top;
    let atFormat = format;
    while (at !== null) {
      if (this.layers[at] !== undefined) {
        return { links, clean: true, tailKnown: true };
      }
      seen.add(at);
      const header: Qcow2Header | null = atFormat === null || atFormat === 'qcow2' ? await this.header(at) : null;
      const linkFormat = header !== null ? 'qcow2' : atFormat;
      if (linkFormat === null || (atFormat === 'qcow2' && header === null)) {
        if (links.length === 0 && atFormat === null) return { links, clean: false, tailKnown: false };
        this.report({
          code: 'unreadable',
          severity: 'error',
          message: `${at} is not a readable ${atFormat ?? 'qcow2'} image.`,
          path: at,
        });
        return { links, clean: false, tailKnown: false };
      }
      const link: Link = {
        path: at,
        format: linkFormat,
        backing: null,
        backingName: header?.backingName ?? null,
        backingFormat: header?.backingFormat ?? null,
      };
      links.push(link);
      if (link.backingName === null) return { links, clean: true, tailKnown: false };

      if (/^[a-z0-9+]+:/i.test(link.backingName) && !link.backingName.startsWith('file:')) {
        this.report({
          code: 'unreadable',
          severity: 'warning',
          message: `${at} is backed by "${link.backingName}", which is not a local file; the chain is shown up to here.`,
          path: at,
        });
        return { links, clean: false, tailKnown: false };
      }
      const named = resolveBackingName(at, link.backingName.replace(/^file:/, ''));
      const next = await canonical(named);
      if (next === null) {
        link.backing = named;
        this.report({
          code: 'missing-backing',
          severity: 'error',
          message: `The backing file ${named} of ${at} is missing.`,
          path: at,
        });
        return { links, clean: false, tailKnown: false };
      }
      link.backing = next;
      if (seen.has(next)) {
        this.report({ code: 'cycle', severity: 'error', message: `The backing chain of ${at} loops back to ${next}.`, path: at });
        return { links, clean: false, tailKnown: false };
      }
      if (link.backingFormat === null) {
        this.report({
          code: 'backing-no-format',
          severity: 'warning',
          message: `${at} does not record the format of its backing file ${next}; it is not probed, and the chain is shown up to here.`,
          path: at,
        });
        return { links, clean: false, tailKnown: false };
      }
      at = next;
      atFormat = link.backingFormat;
    }
    return { links, clean: true, tailKnown: false };
  }

  private async readChain(top: string, format: string | null, shared: boolean): Promise<void> {
    const { links, clean, tailKnown } = await this.walk(top, format);
    if (links.length === 0) return;
    const top0 = links[0] as Link;

    const infos = new Map<string, ImageInfo>();
    if (clean && !tailKnown && links.length > 1) {
      // One process reads the whole new chain; its order matches the links'.
      const chain = await this.info(top0.path, top0.format, true, shared);
      chain?.forEach((info, i) => {
        const link = links[i];
        if (link !== undefined) infos.set(link.path, info);
      });
    } else {
      await Promise.all(
        links.map(async (link) => {
          const one = await this.info(link.path, link.format, false, shared);
          if (one?.[0] !== undefined) infos.set(link.path, one[0]);
        }),
      );
    }

    for (const link of links) {
      const info = infos.get(link.path);
      const actual = info?.['actual-size'] ?? (await stat(link.path).then((s) => s.blocks * 512).catch(() => 0));
      this.layers[link.path] = {
        path: link.path,
        format: info?.format ?? link.format,
        virtualSize: info?.['virtual-size'] ?? 0,
        actualSize: actual,
        backing: link.backing,
        backingName: link.backingName,
        backingFormat: link.backingFormat,
        ...(this.sharedReads.has(link.path) ? { sharedRead: true } : {}),
      };
    }
  }

  private readonly sharedReads = new Set<string>();

  /** Runs qemu-img info; a lock held by a running VM is retried read-only with `-U` and noted. */
  private async info(path: string, format: string, backingChain: boolean, shared: boolean): Promise<ImageInfo[] | null> {
    return this.limit(async () => {
      try {
        return await qemuImgInfo(path, { format, backingChain, shared });
      } catch (error) {
        const stderr = error instanceof AppError ? String(error.details?.stderr ?? '') : '';
        if (!shared && isLockError(stderr)) {
          this.sharedReads.add(path);
          this.report({
            code: 'locked',
            severity: 'info',
            message: `${path} is in use by a running VM; it was read in shared mode for display.`,
            path,
          });
          return qemuImgInfo(path, { format, backingChain, shared: true }).catch(() => null);
        }
        this.report({
          code: 'unreadable',
          severity: 'error',
          message: `qemu-img cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`,
          path,
        });
        return null;
      }
    });
  }
}
