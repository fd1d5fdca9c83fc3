/**
 * The CLI's operation verbs. Each plans on a fresh scan, prints the plan, and runs it only when confirmed
 * (a prompt, or --yes); --dry-run prints the plan and changes nothing; --json prints machine-readable results.
 */
import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import type { ZodType } from 'zod';
import { AppError } from '../../shared/errors';
import { formatTree } from '../../shared/format-tree';
import type { Domain, Source } from '../../shared/model';
import { formatPlan } from '../../shared/ops/format-plan';
import type { NodeRef } from '../../shared/ops/intent';
import type { Intent, Plan } from '../../shared/ops/plan';
import type { Power } from '../../shared/ops/planners/steps';
import type { ProgressEvent } from '../../shared/ops/results';
import { intentSchema } from '../../shared/contract';
import { sshTargetOf } from '../../shared/source-rules';
import { absolutePathSchema, existingNameSchema, freeTextSchema, newNameSchema, uriSchema } from '../../shared/validate';
import type { Engine } from '../engine';
import { err, out } from './output';

export const DEFAULT_URI = 'qemu:///system';

export interface CommonFlags {
  connect?: string;
  folder?: string;
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
}

type Parse = (value: string) => string;

/** Checks one text the user gave against the rule every interface applies to it (docs/safety.md, rule 6). */
export function checked(what: string, schema: ZodType<string>): Parse {
  return (value) => {
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new AppError('E_BAD_INPUT', `Bad ${what} ${JSON.stringify(value)}: ${parsed.error?.issues[0]?.message ?? ''}`);
    return value;
  };
}

export function sourceOf(flags: CommonFlags): Source {
  if (flags.connect !== undefined && flags.folder !== undefined) throw new AppError('E_BAD_INPUT', 'Give either --connect or --folder, not both.');
  if (flags.folder !== undefined) return { kind: 'folder', path: checked('folder', absolutePathSchema)(resolve(flags.folder)) };
  const uri = flags.connect ?? DEFAULT_URI;
  const parsed = uriSchema.safeParse(uri);
  if (!parsed.success) throw new AppError('E_BAD_INPUT', parsed.error.issues[0]?.message ?? 'Bad connection URI.');
  return { kind: 'libvirt', uri };
}

/**
 * Parses the name of something that exists, given as an argument (`what` says which, for the message), verbatim:
 * spaces at either end are part of it. An argument that starts with `-` reaches here only after `--` (commander
 * refuses it as an unknown option before), so it is meant as a name and taken. Any character the API refuses (a
 * control character) is refused here too.
 */
export function name(what: string): Parse {
  return checked(`${what} name`, existingNameSchema);
}

/** Parses a name the user creates (a new snapshot or branch, a rename's target) by the stricter rule. */
export function newName(what: string): Parse {
  return checked(`${what} name`, newNameSchema);
}

/**
 * The intent as the API would take it: every field, the paths and descriptions too, follows the same rules, so no
 * character the API refuses reaches an operation from the command line either.
 */
function checkIntent(intent: Intent): Intent {
  const parsed = intentSchema.safeParse(intent);
  if (parsed.success) return intent;
  const issue = parsed.error.issues[0];
  throw new AppError('E_BAD_INPUT', `Bad ${issue?.path.join('.') || 'input'}: ${issue?.message ?? ''}`, { issues: parsed.error.issues.map((i) => i.message) });
}

/** Asks a yes/no question on the terminal; without one it refuses, so that nothing is applied unasked. */
export async function confirm(question: string): Promise<boolean> {
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

/**
 * A new engine for one CLI command. The engine's modules (planners, executor, journal, server, live picture) are
 * loaded here, when a command needs them, not when the CLI starts: `tree` of named domains never loads them.
 */
export async function openEngine(): Promise<Engine> {
  const { Engine } = await import('../engine');
  return new Engine({ host: 'serve' });
}

/** Runs one CLI command on an engine of its own, reporting any error with its code and closing the engine. */
export async function withEngine(fail: (error: unknown) => never, work: (engine: Engine) => Promise<void>): Promise<void> {
  const engine = await openEngine().catch(fail);
  try {
    await work(engine);
  } catch (error) {
    fail(error);
  } finally {
    await engine.close();
  }
}

/** Recovers interrupted operations first, as every entry does on start, and says what it did. */
export async function recoverOnStart(engine: Engine): Promise<void> {
  for (const report of await engine.recover()) err(`recovery: ${report.message}\n`);
}

type BuildIntent = (source: Source, engine: Engine) => Intent | Promise<Intent>;

/** Prints the steps' progress to stderr: each step's sentence, then its percentage in steps of 10. */
function progressPrinter(flags: CommonFlags): (event: ProgressEvent) => void {
  let shown = -1;
  return (e) => {
    if (flags.json) return;
    if (e.percent === null) {
      shown = -1;
      err(`[${e.step + 1}/${e.steps}] ${e.sentence}\n`);
    } else if (e.percent >= shown + 10 || (e.percent === 100 && shown < 100)) {
      shown = e.percent;
      err(`[${e.step + 1}/${e.steps}] ${e.percent.toFixed(0)}%\n`);
    }
  };
}

/** What a finished operation prints: JSON, or "Done." and the domain's tree after it. */
function printDone(flags: CommonFlags, source: Source, plan: Plan, result: { operationId: string; domain: Domain | null }): void {
  if (flags.json) return void out(`${JSON.stringify({ operationId: result.operationId, plan, domain: result.domain }, null, 2)}\n`);
  out('\nDone.\n');
  if (result.domain !== null) out(formatTree({ source, scannedAt: '', hypervisor: null, domains: [result.domain], problems: [] }));
}

/**
 * Applies the plan, Ctrl+C cancelling it: the engine stops the running step (a block job is aborted), undoes what
 * it can and says what it did. A second Ctrl+C quits at once, leaving the journal to recovery.
 */
async function applyCancellable(engine: Engine, plan: Plan, flags: CommonFlags): Promise<Awaited<ReturnType<Engine['apply']>>> {
  const controller = new AbortController();
  const interrupted = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
    err('\nCancelling… (Ctrl+C again quits at once, and "virt-snaptree recover" finishes or undoes the operation later)\n');
  };
  // Ctrl+C, a `kill`, a service stop, a closed terminal: each cancels the operation as Ctrl+C does. Once the
  // terminal is gone, writing to it fails (EIO, EPIPE): nobody is left to read it, and the undo must still run, so
  // from here on such failures end nothing.
  for (const stream of [process.stdout, process.stderr]) if (stream.listenerCount('error') === 0) stream.on('error', () => undefined);
  for (const signal of CANCELLING) process.on(signal, interrupted);
  try {
    return await engine.apply(plan, { onProgress: progressPrinter(flags), signal: controller.signal });
  } finally {
    for (const signal of CANCELLING) process.off(signal, interrupted);
  }
}

const CANCELLING = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Shows a plan, asks, and applies it. A plan the engine finds changed is shown again and asked again once; with
 * --yes, or a second time, it is an error. Returns the changed plan to show, or null when finished.
 */
async function showAndApply(engine: Engine, source: Source, plan: Plan, flags: CommonFlags, attempt: number): Promise<Plan | null> {
  if (flags.json && flags.dryRun) out(`${JSON.stringify({ plan }, null, 2)}\n`);
  else if (!flags.json) out(formatPlan(plan));
  if (flags.dryRun) return null;
  if (!flags.yes && !(await confirm('Apply this plan? [y/N] '))) {
    err('Nothing was changed.\n');
    return null;
  }
  const result = await applyCancellable(engine, plan, flags);
  if (result.status === 'changed') {
    if (attempt > 0 || flags.yes) throw new AppError('E_CHANGED', 'The domain changed while planning; look at the new plan and run again.', { plan: result.plan });
    out('\nThe domain changed since this plan was made. The plan now is:\n');
    return result.plan;
  }
  printDone(flags, source, plan, result);
  return null;
}

async function runIntent(flags: CommonFlags, build: BuildIntent): Promise<void> {
  const source = sourceOf(flags);
  const engine = await openEngine();
  try {
    const intent = checkIntent(await build(source, engine));
    await recoverOnStart(engine);
    const planned = await engine.plan(source, intent);
    if (!planned.ok) throw new AppError(planned.refusal.code, planned.refusal.message, planned.refusal.details);
    let plan: Plan | null = planned.plan;
    for (let attempt = 0; plan !== null; attempt++) plan = await showAndApply(engine, source, plan, flags, attempt);
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

type Run = (flags: CommonFlags, build: BuildIntent) => Promise<void>;

interface PowerFlags {
  stop?: string;
  timeout?: string;
  start?: boolean;
  paused?: boolean;
}

/** The options of a verb that changes a domain's disks: how a running domain is stopped first, and started after. */
function withPower(command: Command): Command {
  return command
    .option('--stop <how>', 'stop a running domain first: "shutdown" (asks the guest, waits), "force" (power off) or "save" (keeps its memory with the branch left)')
    .option('--timeout <seconds>', 'how long --stop shutdown waits before giving up, changing nothing (default 120)')
    .option('--start', 'start the domain afterwards')
    .option('--paused', 'start the domain afterwards (or resume it from saved memory), paused');
}

/** The intent fields of PowerFlags, checked: E_BAD_INPUT for a mode or timeout that is not one. */
function powerOf(flags: PowerFlags): Power {
  if (flags.stop !== undefined && flags.stop !== 'shutdown' && flags.stop !== 'force' && flags.stop !== 'save') {
    throw new AppError('E_BAD_INPUT', '--stop takes "shutdown", "force" or "save".');
  }
  if (flags.timeout !== undefined && flags.stop !== 'shutdown') throw new AppError('E_BAD_INPUT', '--timeout goes with --stop shutdown.');
  const timeout = flags.timeout === undefined ? undefined : Number(flags.timeout);
  if (timeout !== undefined && !(Number.isInteger(timeout) && timeout >= 1 && timeout <= 3600)) throw new AppError('E_BAD_INPUT', '--timeout takes whole seconds from 1 to 3600.');
  if (flags.start === true && flags.paused === true) throw new AppError('E_BAD_INPUT', 'Give --start or --paused, not both.');
  return {
    ...(flags.stop !== undefined ? { stop: flags.stop } : {}),
    ...(timeout !== undefined ? { timeout } : {}),
    ...(flags.start === true ? { start: 'running' as const } : flags.paused === true ? { start: 'paused' as const } : {}),
  };
}

/** The verbs on snapshots: take, revert to (keeping or discarding the state left), switch branch, delete. */
function addSnapshotVerbs(program: Command, run: Run): void {
  withCommon(program.command('snapshot <domain> <name>'))
    .description('Take an external snapshot of every managed disk; a running or paused domain keeps its state.')
    .option('-d, --description <text>', 'what this snapshot is')
    .option('--memory', "save a running or paused domain's memory too, beside its disks")
    .option('--quiesce', "have the guest agent freeze the guest's file systems while the snapshot is taken")
    .action((domain: string, snapshot: string, flags: CommonFlags & { description?: string; memory?: boolean; quiesce?: boolean }) =>
      run(flags, () => ({
        op: 'create-snapshot',
        domain: name('domain')(domain),
        name: newName('snapshot')(snapshot),
        ...(flags.description !== undefined ? { description: checked('description', freeTextSchema)(flags.description) } : {}),
        ...(flags.memory === true ? { memory: true } : {}),
        ...(flags.quiesce === true ? { quiesce: true } : {}),
      })),
    );

  withPower(withCommon(program.command('revert <domain> <snapshot>')))
    .description('Go back to a snapshot: with --branch the state you leave is kept as a branch; with --discard it goes to the trash.')
    .option('-b, --branch <name>', 'name of the new branch')
    .option('-k, --keep-as <name>', 'name for the branch you leave (default: its current name)')
    .option('--discard', 'do not keep the state you leave: what only it used goes to the trash')
    .action((domain: string, snapshot: string, flags: CommonFlags & PowerFlags & { branch?: string; keepAs?: string; discard?: boolean }) =>
      run(flags, () => {
        if ((flags.branch === undefined) === (flags.discard !== true)) throw new AppError('E_BAD_INPUT', 'Give either --branch NAME or --discard.');
        const power = powerOf(flags);
        if (flags.discard) return { op: 'revert-discard', domain: name('domain')(domain), snapshot: name('snapshot')(snapshot), ...power };
        return {
          op: 'revert-branch',
          domain: name('domain')(domain),
          snapshot: name('snapshot')(snapshot),
          branch: newName('branch')(flags.branch as string),
          ...(flags.keepAs !== undefined ? { keepAs: newName('branch')(flags.keepAs) } : {}),
          ...power,
        };
      }),
    );

  withPower(withCommon(program.command('switch <domain> <branch>')))
    .description("Point the domain's disks at another branch.")
    .action((domain: string, branch: string, flags: CommonFlags & PowerFlags) =>
      run(flags, () => ({ op: 'switch', domain: name('domain')(domain), branch: name('branch')(branch), ...powerOf(flags) })),
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
}

/** The image of a folder source that `path` names, as the domain (its tree) it belongs to. */
async function folderTreeOf(engine: Engine, source: Source, image: string, folder: string): Promise<string> {
  const tree = (await engine.scan(source)).domains.find((d) => d.layers[image] !== undefined);
  if (tree === undefined) throw new AppError('E_NOT_FOUND', `${image} is not an image of ${folder}.`);
  return tree.name;
}

/**
 * The verbs on branches and images: commit, delete a branch, repair, rename. With --folder the verbs on tips take
 * an image path: its tree and its name stand for domain and branch.
 */
function addBranchVerbs(program: Command, run: Run): void {
  const runOn = (flags: CommonFlags, domain: string, branch: string | undefined, build: (domain: string, branch: string) => Intent) =>
    run(flags, async (source, engine) => {
      if (flags.folder !== undefined && branch === undefined) {
        const image = resolve(domain);
        return build(await folderTreeOf(engine, source, image, flags.folder), name('image')(basename(image)));
      }
      if (branch === undefined) throw new AppError('E_BAD_INPUT', 'Name the domain and the branch.');
      return build(name('domain')(domain), name('branch')(branch));
    });

  withCommon(program.command('commit <domain> [branch]'))
    .description('Fold a branch tip into its backing file; refused when anything else depends on that file. With --folder: commit IMAGE.')
    .action((domain: string, branch: string | undefined, flags: CommonFlags) =>
      runOn(flags, domain, branch, (d, b) => ({ op: 'commit', domain: d, branch: b })),
    );

  withCommon(program.command('fold <domain> <branch> <snapshot>'))
    .description("Fold a branch tip into the saved state of the snapshot it builds on, and delete that snapshot; refused when anything else depends on that snapshot's file.")
    .action((domain: string, branch: string, snapshot: string, flags: CommonFlags) =>
      run(flags, () => ({ op: 'fold-commit', domain: name('domain')(domain), branch: name('branch')(branch), snapshot: name('snapshot')(snapshot) })),
    );

  withCommon(program.command('delete-branch <domain> [branch]'))
    .description('Delete a branch that is not current: its own files go to the trash. With --folder: delete-branch IMAGE.')
    .action((domain: string, branch: string | undefined, flags: CommonFlags) =>
      runOn(flags, domain, branch, (d, b) => ({ op: 'delete-branch', domain: d, branch: b })),
    );

  withCommon(program.command('repair <domain> [file]'))
    .description('Repair an image that `check` reports: frees leaked clusters; with --all also fixes corruption, keeping a copy in the trash first. With --folder: repair IMAGE.')
    .option('--all', 'repair corruption too (a copy of the image is kept in the trash first)')
    .action((domain: string, file: string | undefined, flags: CommonFlags & { all?: boolean }) =>
      run(flags, async (source, engine) => {
        const mode = flags.all ? 'all' : 'leaks';
        const image = resolve(file ?? domain);
        if (file !== undefined) return { op: 'repair', domain: name('domain')(domain), path: image, mode };
        if (flags.folder === undefined) throw new AppError('E_BAD_INPUT', 'Name the domain and the image file.');
        return { op: 'repair', domain: await folderTreeOf(engine, source, image, flags.folder), path: image, mode };
      }),
    );

  withCommon(program.command('describe <domain> <snapshot> <text>'))
    .description("Set a snapshot's description (an empty text removes it); only libvirt's record of it changes.")
    .action((domain: string, snapshot: string, text: string, flags: CommonFlags) =>
      run(flags, () => ({ op: 'edit-description', domain: name('domain')(domain), snapshot: name('snapshot')(snapshot), description: checked('description', freeTextSchema)(text) })),
    );

  withCommon(program.command('rename-branch <domain> <old> <new>'))
    .description('Rename a branch.')
    .action((domain: string, from: string, to: string, flags: CommonFlags) =>
      run(flags, () => ({ op: 'rename-branch', domain: name('domain')(domain), branch: name('branch')(from), to: newName('branch')(to) })),
    );
}

/**
 * The node a clone or an export starts from. NODE is a snapshot's or a branch's name, verbatim; `snapshot:NAME`
 * or `branch:NAME` says which, and is needed when the domain has a snapshot and a branch of that name.
 */
export function nodeRefOf(domain: Domain, ref: string): NodeRef {
  if (ref.startsWith('snapshot:')) return { kind: 'snapshot', name: name('snapshot')(ref.slice(9)) };
  if (ref.startsWith('branch:')) return { kind: 'branch', name: name('branch')(ref.slice(7)) };
  const node = name('node')(ref);
  const snapshot = domain.snapshots.some((s) => s.name === node);
  const branch = domain.branches.some((b) => b.name === node);
  if (snapshot && branch) {
    throw new AppError('E_BAD_INPUT', `${domain.name} has a snapshot and a branch named ${JSON.stringify(node)}: write snapshot:${node} or branch:${node}.`);
  }
  if (snapshot) return { kind: 'snapshot', name: node };
  if (branch) return { kind: 'branch', name: node };
  throw new AppError('E_NOT_FOUND', `${domain.name} has no snapshot or branch named ${JSON.stringify(node)}.`);
}

/**
 * A folder the user names for new files: absolute once resolved, and, on this computer, one that exists (nothing
 * is made for it). A folder on an SSH host is looked at there, when the engine plans.
 */
async function existingFolder(what: string, dir: string, source: Source): Promise<string> {
  // There, a path relative to this shell's folder means nothing: it is given whole.
  if (source.kind === 'libvirt' && sshTargetOf(source.uri) !== null) return checked(what, absolutePathSchema)(dir);
  const path = checked(what, absolutePathSchema)(resolve(dir));
  const info = await stat(path).catch(() => null);
  if (info === null) throw new AppError('E_BAD_INPUT', `The ${what} ${path} does not exist.`);
  if (!info.isDirectory()) throw new AppError('E_BAD_INPUT', `The ${what} ${path} is not a folder.`);
  return path;
}

/** The scanned domain an intent names, and the scan (for the names that are taken). */
async function scannedDomain(engine: Engine, source: Source, domainName: string): Promise<{ domain: Domain; taken: Set<string> }> {
  const scan = await engine.scan(source);
  const domain = scan.domains.find((d) => d.name === domainName);
  if (domain === undefined) throw new AppError('E_NOT_FOUND', `No domain named ${JSON.stringify(domainName)}.`);
  return { domain, taken: new Set(scan.domains.map((d) => d.name)) };
}

interface CloneFlags extends CommonFlags {
  linked?: boolean;
  full?: boolean;
  dir?: string;
  start?: boolean;
}

interface ExportFlags extends CommonFlags {
  to: string;
  format?: string;
  compress?: boolean;
}

/** The clone intent from the command line: the node resolved on a fresh scan, the new name free, the folder there. */
async function cloneIntent(engine: Engine, source: Source, args: { domain: string; node: string; clone: string }, flags: CloneFlags): Promise<Intent> {
  if (flags.linked === true && flags.full === true) throw new AppError('E_BAD_INPUT', 'Give --linked or --full, not both.');
  const clone = newName('new domain')(args.clone);
  const dir = flags.dir === undefined ? undefined : await existingFolder('--dir folder', flags.dir, source);
  const { domain, taken } = await scannedDomain(engine, source, name('domain')(args.domain));
  if (taken.has(clone)) throw new AppError('E_NAME_TAKEN', `A domain named ${JSON.stringify(clone)} exists already: choose another name for the clone.`);
  return {
    op: 'clone',
    domain: domain.name,
    node: nodeRefOf(domain, args.node),
    name: clone,
    mode: flags.full === true ? 'full' : 'linked',
    ...(dir !== undefined ? { dir } : {}),
    ...(flags.start === true ? { start: true } : {}),
  };
}

/** The export intent from the command line: the node resolved on a fresh scan, the target folder there. */
async function exportIntent(engine: Engine, source: Source, args: { domain: string; node: string }, flags: ExportFlags): Promise<Intent> {
  const format = flags.format ?? 'qcow2';
  if (format !== 'qcow2' && format !== 'raw') throw new AppError('E_BAD_INPUT', '--format takes "qcow2" or "raw".');
  if (flags.compress === true && format !== 'qcow2') throw new AppError('E_BAD_INPUT', '--compress goes with --format qcow2 (raw images are not compressed).');
  const to = await existingFolder('--to folder', flags.to, source);
  const { domain } = await scannedDomain(engine, source, name('domain')(args.domain));
  return { op: 'export', domain: domain.name, node: nodeRefOf(domain, args.node), to, format, ...(flags.compress === true ? { compress: true } : {}) };
}

const NODE_HELP = 'NODE is a snapshot or a branch, by name; write snapshot:NAME or branch:NAME where the domain has both of that name.';

/** The verbs that copy a node out: clone it into a new domain, or export its disks as standalone images. */
function addCopyVerbs(program: Command, run: Run): void {
  withCommon(program.command('clone <domain> <node> <new>'))
    .description(
      `Make a new domain NEW from a snapshot or branch of DOMAIN: new UUID and MAC addresses, its own NVRAM copy, no snapshots. --linked (the default) gives each disk a new overlay on the node's saved state (a branch's tip is frozen first, as a snapshot would); --full copies each disk into a standalone image. ${NODE_HELP}`,
    )
    .option('--linked', "new overlays on the node's saved state (default)")
    .option('--full', 'standalone copies of every disk, no link to the source (needs the space of the whole chain)')
    .option('--dir <dir>', "an existing folder for the clone's files (default: beside the source's images)")
    .option('--start', 'start the clone afterwards')
    .action((domain: string, node: string, clone: string, flags: CloneFlags) =>
      run(flags, (source, engine) => cloneIntent(engine, source, { domain, node, clone }, flags)),
    );

  withCommon(program.command('export <domain> <node>'))
    .description(`Write each disk of a snapshot or branch as one standalone image into an existing folder; refused when a target file exists. ${NODE_HELP}`)
    .requiredOption('--to <dir>', 'the existing folder the images go into')
    .option('--format <format>', '"qcow2" (default) or "raw"')
    .option('--compress', "qcow2's compression (with --format qcow2)")
    .action((domain: string, node: string, flags: ExportFlags) => run(flags, (source, engine) => exportIntent(engine, source, { domain, node }, flags)));
}

/** Registers the operation verbs; `fail` reports errors with their codes. The trash's are in trash-commands.ts. */
export function addOperationCommands(program: Command, fail: (error: unknown) => never): void {
  const run: Run = (flags, build) => runIntent(flags, build).catch(fail);
  addSnapshotVerbs(program, run);
  addBranchVerbs(program, run);
  addCopyVerbs(program, run);
}
