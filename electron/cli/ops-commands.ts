/**
 * The CLI's operation verbs. Each plans on a fresh scan, prints the plan, and runs it only when confirmed
 * (a prompt, or --yes); --dry-run prints the plan and changes nothing; --json prints machine-readable results.
 */
import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { AppError } from '../../shared/errors';
import { formatTree } from '../../shared/format-tree';
import type { Source } from '../../shared/model';
import { formatPlan } from '../../shared/ops/format-plan';
import type { Intent } from '../../shared/ops/plan';
import { nameSchema, uriSchema } from '../../shared/validate';
import { Engine } from '../engine';

export const DEFAULT_URI = 'qemu:///system';

interface CommonFlags {
  connect?: string;
  folder?: string;
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
}

type Parse = (value: string) => string;

function sourceOf(flags: CommonFlags): Source {
  if (flags.connect !== undefined && flags.folder !== undefined) throw new AppError('E_BAD_INPUT', 'Give either --connect or --folder, not both.');
  if (flags.folder !== undefined) return { kind: 'folder', path: resolve(flags.folder) };
  const uri = flags.connect ?? DEFAULT_URI;
  const parsed = uriSchema.safeParse(uri);
  if (!parsed.success) throw new AppError('E_BAD_INPUT', parsed.error.issues[0]?.message ?? 'Bad connection URI.');
  return { kind: 'libvirt', uri };
}

function name(what: string): Parse {
  return (value) => {
    const parsed = nameSchema.safeParse(value);
    if (!parsed.success) throw new AppError('E_BAD_INPUT', `Bad ${what} name ${JSON.stringify(value)}: ${parsed.error.issues[0]?.message ?? ''}`);
    return value;
  };
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    throw new AppError('E_BAD_INPUT', 'Not asking without a terminal: add --yes to apply, or --dry-run to only see the plan.');
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/** Recovers interrupted operations first, as every entry does on start, and says what it did. */
export async function recoverOnStart(engine: Engine): Promise<void> {
  for (const report of await engine.recover()) process.stderr.write(`recovery: ${report.message}\n`);
}

async function runIntent(flags: CommonFlags, build: (source: Source) => Intent): Promise<void> {
  const source = sourceOf(flags);
  const intent = build(source);
  const engine = new Engine({ host: 'serve' });
  try {
    await recoverOnStart(engine);
    let planned = await engine.plan(source, intent);
    for (let attempt = 0; ; attempt++) {
      if (!planned.ok) throw new AppError(planned.refusal.code, planned.refusal.message, planned.refusal.details);
      const plan = planned.plan;
      if (flags.json && flags.dryRun) return void process.stdout.write(`${JSON.stringify({ plan }, null, 2)}\n`);
      if (!flags.json) process.stdout.write(formatPlan(plan));
      if (flags.dryRun) return;
      if (!flags.yes && !(await confirm('Apply this plan? [y/N] '))) {
        process.stderr.write('Nothing was changed.\n');
        return;
      }
      const result = await engine.apply(plan, {
        onProgress: (e) => {
          if (!flags.json) process.stderr.write(`[${e.step + 1}/${e.steps}] ${e.percent === null ? e.sentence : `${e.percent.toFixed(0)}%`}\n`);
        },
      });
      if (result.status === 'changed') {
        if (attempt > 0 || flags.yes) throw new AppError('E_CHANGED', 'The domain changed while planning; look at the new plan and run again.', { plan: result.plan });
        process.stdout.write('\nThe domain changed since this plan was made. The plan now is:\n');
        planned = { ok: true, plan: result.plan };
        continue;
      }
      if (flags.json) return void process.stdout.write(`${JSON.stringify({ operationId: result.operationId, plan, domain: result.domain }, null, 2)}\n`);
      process.stdout.write('\nDone.\n');
      if (result.domain !== null) {
        process.stdout.write(formatTree({ source, scannedAt: '', hypervisor: null, domains: [result.domain], problems: [] }));
      }
      return;
    }
  } finally {
    await engine.close();
  }
}

function withCommon(command: Command): Command {
  return command
    .option('-c, --connect <uri>', `libvirt connection URI (default ${DEFAULT_URI})`)
    .option('-f, --folder <dir>', 'a folder of qcow2 images instead of libvirt')
    .option('-n, --dry-run', 'print the plan and change nothing')
    .option('-y, --yes', 'apply without asking')
    .option('--json', 'print JSON');
}

/** Registers the operation verbs; `fail` reports errors with their codes. */
export function addOperationCommands(program: Command, fail: (error: unknown) => never): void {
  const run = (flags: CommonFlags, build: (source: Source) => Intent) => runIntent(flags, build).catch(fail);

  withCommon(program.command('revert <domain> <snapshot>'))
    .description('Go back to a snapshot; with --branch the state you leave is kept as a branch.')
    .requiredOption('-b, --branch <name>', 'name of the new branch')
    .option('-k, --keep-as <name>', 'name for the branch you leave (default: its current name)')
    .action((domain: string, snapshot: string, flags: CommonFlags & { branch: string; keepAs?: string }) =>
      run(flags, () => ({
        op: 'revert-branch',
        domain: name('domain')(domain),
        snapshot: name('snapshot')(snapshot),
        branch: name('branch')(flags.branch),
        ...(flags.keepAs !== undefined ? { keepAs: name('branch')(flags.keepAs) } : {}),
      })),
    );

  withCommon(program.command('switch <domain> <branch>'))
    .description("Point the domain's disks at another branch.")
    .action((domain: string, branch: string, flags: CommonFlags) =>
      run(flags, () => ({ op: 'switch', domain: name('domain')(domain), branch: name('branch')(branch) })),
    );

  withCommon(program.command('delete <domain> <snapshot>'))
    .description('Delete a snapshot; every other snapshot and branch keeps its exact content.')
    .option('--metadata-only', "remove only libvirt's record; keep every file")
    .action((domain: string, snapshot: string, flags: CommonFlags & { metadataOnly?: boolean }) =>
      run(flags, () => ({
        op: 'delete-snapshot',
        domain: name('domain')(domain),
        snapshot: name('snapshot')(snapshot),
        ...(flags.metadataOnly ? { metadataOnly: true } : {}),
      })),
    );

  withCommon(program.command('commit <domain> <branch>'))
    .description('Fold a branch tip into its backing file; refused when anything else depends on that file.')
    .action((domain: string, branch: string, flags: CommonFlags) =>
      run(flags, () => ({ op: 'commit', domain: name('domain')(domain), branch: name('branch')(branch) })),
    );

  withCommon(program.command('rename-branch <domain> <old> <new>'))
    .description('Rename a branch.')
    .action((domain: string, from: string, to: string, flags: CommonFlags) =>
      run(flags, () => ({ op: 'rename-branch', domain: name('domain')(domain), branch: name('branch')(from), to: name('branch')(to) })),
    );

  program
    .command('recover')
    .description('Finish or roll back operations that a crash interrupted.')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const engine = new Engine({ host: 'serve' });
      try {
        const reports = await engine.recover();
        if (flags.json) process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
        else process.stdout.write(reports.length === 0 ? 'Nothing to recover.\n' : `${reports.map((r) => r.message).join('\n')}\n`);
        if (reports.some((r) => r.outcome === 'failed')) process.exitCode = 1;
      } catch (error) {
        fail(error);
      } finally {
        await engine.close();
      }
    });
}
