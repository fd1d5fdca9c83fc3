/**
 * The CLI's inspection verbs: `compare` two nodes, `check` the health of a domain's or a folder's layers.
 * They read and never change anything.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { AppError } from '../../shared/errors';
import { formatComparison } from '../../shared/format-compare';
import type { HealthReport } from '../../shared/inspect';
import type { Domain } from '../../shared/model';
import { DEFAULT_URI, name, sourceOf, withEngine, type CommonFlags } from './ops-commands';
import { out } from './output';

/**
 * A name is a snapshot's when one has it, else a branch's; "branch:" or "snapshot:" says which. Names are taken
 * verbatim, spaces included. A path (libvirt refuses a slash in snapshot and domain names, the app in branch names)
 * is one image file of the domain.
 */
function toNode(domain: Domain, ref: string): string {
  if (ref.includes('/')) return `f:${resolve(ref)}`;
  if (ref.startsWith('branch:')) return `b:${name('branch')(ref.slice(7))}`;
  if (ref.startsWith('snapshot:')) return `s:${name('snapshot')(ref.slice(9))}`;
  return domain.snapshots.some((s) => s.name === ref) ? `s:${name('snapshot')(ref)}` : `b:${name('branch')(ref)}`;
}

function formatHealth(reports: HealthReport[]): string {
  const lines: string[] = [];
  for (const report of reports) {
    lines.push(`${report.domain}: ${report.healthy ? 'healthy' : 'needs attention'}`);
    for (const layer of report.layers) for (const finding of layer.findings) lines.push(`  ${layer.path}: ${finding}`);
  }
  return `${lines.join('\n')}\n`;
}

export function addInspectCommands(program: Command, fail: (error: unknown) => never): void {
  const withSource = (command: Command) =>
    command
      .option('-c, --connect <uri>', `libvirt connection URI (default ${DEFAULT_URI})`)
      .option('-f, --folder <dir>', 'a folder of images instead of libvirt')
      .option('--json', 'print JSON');
  withSource(program.command('compare <domain> <a> <b>'))
    .description('How two nodes differ: the fork, what each side added, and the regions each side wrote since. A and B are snapshot or branch names, or image file paths.')
    .action((domain: string, a: string, b: string, flags: CommonFlags) =>
      withEngine(fail, async (engine) => {
        const result = await engine.compare(sourceOf(flags), name('domain')(domain), a, b, toNode);
        out(flags.json ? `${JSON.stringify(result, null, 2)}\n` : formatComparison(result));
      }),
    );


  withSource(program.command('check [domain-or-folder]'))
    .description(
      "Check every layer of a domain, of a folder's image trees (a path), or of all domains: qemu-img check, dirty images, bases written after overlays were built on them. Exit 1 when something needs attention.",
    )
    .action((target: string | undefined, flags: CommonFlags) =>
      withEngine(fail, async (engine) => {
        // Domain names never hold a slash: a path is a folder of images.
        const folder = target?.includes('/') ? resolve(target) : undefined;
        const source = sourceOf(folder === undefined ? flags : { ...flags, folder });
        const domain = folder === undefined && target !== undefined ? name('domain')(target) : undefined;
        const reports = await engine.check(source, domain);
        if (reports.length === 0) throw new AppError('E_NOT_FOUND', 'Nothing to check.');
        out(flags.json ? `${JSON.stringify(reports, null, 2)}\n` : formatHealth(reports));
        if (reports.some((r) => !r.healthy)) process.exitCode = 1;
      }),
    );
}
