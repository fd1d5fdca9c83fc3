/**
 * The one place a step becomes a command: the executor runs what `stepCommand` returns, and the preview (plan text,
 * the desktop's plan dialog, the operations log) shows the line `stepLine` builds from the same result, with the
 * connection the engine's virsh session is opened on. Nothing else builds a step's arguments (docs/architecture.md).
 */
import type { Source } from '../model';
import { checkArgs, commitArgs, convertArgs, createArgs, rebaseArgs } from '../qemu-img-args';
import { sshTargetOf } from '../source-rules';
import type { Step } from './plan';

/** The tools a step runs. Steps done in process (moving to the trash) run none. */
export type Tool = 'virsh' | 'qemu-img' | 'cp';

/** A tool and its arguments, exactly as the executor starts it (virsh: as sent to the connected session). */
export interface StepCommand {
  tool: Tool;
  args: string[];
}

/**
 * What only the run knows: the temporary file holding an edited definition or snapshot record, and whether the
 * redefined snapshot is libvirt's current one. The preview leaves them out and shows a placeholder for the file.
 */
export interface RunFacts {
  xmlFile?: string;
  current?: boolean;
  /**
   * Whether the snapshot a `set-current-snapshot` redefines is current already: then it is redefined without
   * `--current`, which would clear the revert disks of the current snapshot, that very record.
   */
  alreadyCurrent?: boolean;
  /**
   * The file a `convert` or `copy-nvram` writes: its target's hidden temporary name in the same folder, renamed
   * into place once complete (electron/ops/clone-files.ts), so that the target is either absent or whole. The
   * preview shows the target itself.
   */
  partFile?: string;
  /**
   * Whether a `convert` writes through the page cache: the file system of its target takes no O_DIRECT (qemu-img
   * says so when it opens it). Otherwise, and in the preview, it writes past the cache (`-t none`), unless it
   * compresses: compressed clusters are small writes, which O_DIRECT slows down.
   */
  buffered?: boolean;
}

/** Whether a `convert` writes its image past the page cache (`-t none`) where the file system lets it. */
export function writesPastCache(step: Extract<Step, { kind: 'convert' }>): boolean {
  return !step.compress;
}

/** qemu-img's part of a plan, built by the same functions the engine's qemu-img adapter runs. */
function qemuImgArgs(step: Step, run: RunFacts): string[] | null {
  switch (step.kind) {
    case 'create-overlay':
      return createArgs(step.path, { format: 'qcow2', backing: { path: step.backing, format: step.backingFormat } });
    case 'rebase':
      return rebaseArgs({ path: step.path, format: step.format }, { path: step.backing, format: step.backingFormat }, step.unsafe ? 'unsafe' : 'safe');
    case 'commit':
      return commitArgs({ path: step.top, format: step.format }, step.base);
    case 'repair':
      return checkArgs({ path: step.path, format: 'qcow2' }, { repair: step.mode, output: 'text' });
    case 'convert':
      // Never -U: the source is a frozen layer, which a running VM holds read-only and shares (docs/safety.md).
      return convertArgs({ path: step.source, format: step.sourceFormat }, { path: run.partFile ?? step.target, format: step.format }, { compress: step.compress, direct: writesPastCache(step) && run.buffered !== true });
    default:
      return null;
  }
}

/** virsh splits a diskspec at commas; a comma inside the file name is written twice. */
const diskspec = (target: string, file: string) => ['--diskspec', `${target},snapshot=external,file=${file.replaceAll(',', ',,')}`];

function virshArgs(step: Step, run: RunFacts): string[] | null {
  switch (step.kind) {
    case 'define-domain':
      return ['define', '--file', run.xmlFile ?? `<definition of ${step.domain} with the changes above>`];
    case 'define-clone':
      return ['define', '--file', run.xmlFile ?? `<definition of ${step.source} as ${step.name}, with the changes above>`];
    case 'set-current-snapshot':
      if (step.revertDisks !== undefined) {
        const record = run.xmlFile ?? `<record of ${step.snapshot} with the files of the state left as its revert disks>`;
        return ['snapshot-create', '--domain', step.domain, '--xmlfile', record, '--redefine', ...(run.alreadyCurrent === true ? [] : ['--current'])];
      }
      return ['snapshot-current', '--domain', step.domain, '--snapshotname', step.snapshot];
    case 'stop-domain':
      if (step.mode === 'save') return ['save', '--domain', step.domain, '--file', step.memoryFile ?? ''];
      return [step.mode === 'force' ? 'destroy' : 'shutdown', '--domain', step.domain];
    case 'restore-domain':
      // Without --paused, virsh restores the VM running or paused, as it was when its memory was saved.
      return ['restore', '--file', step.memoryFile, '--xml', run.xmlFile ?? `<definition of ${step.domain} as defined above>`, ...(step.paused ? ['--paused'] : [])];
    case 'start-domain':
      return ['start', '--domain', step.domain, ...(step.paused ? ['--paused'] : [])];
    case 'block-commit':
      // Started without --wait: the engine follows the job, reports its progress and pivots an active one itself.
      return ['blockcommit', '--domain', step.domain, '--path', step.target, '--top', step.top, '--base', step.base, ...(step.active ? ['--active'] : [])];
    case 'block-pull':
      return ['blockpull', '--domain', step.domain, '--path', step.target, '--base', step.base];
    case 'delete-snapshot-metadata':
      return ['snapshot-delete', '--domain', step.domain, '--snapshotname', step.snapshot, '--metadata'];
    case 'redefine-snapshot':
      return ['snapshot-create', '--domain', step.domain, '--xmlfile', run.xmlFile ?? `<record of ${step.snapshot} with the changes above>`, '--redefine', ...(run.current === true ? ['--current'] : [])];
    case 'create-snapshot':
      return [
        'snapshot-create-as',
        '--domain',
        step.domain,
        '--name',
        step.name,
        ...(step.description ? ['--description', step.description] : []),
        ...(step.memoryFile ? ['--memspec', `file=${step.memoryFile.replaceAll(',', ',,')},snapshot=external`] : ['--disk-only']),
        ...(step.quiesce === true ? ['--quiesce'] : []),
        '--atomic',
        ...Object.entries(step.overlays).flatMap(([target, file]) => diskspec(target, file)),
        ...step.excluded.flatMap((target) => ['--diskspec', `${target},snapshot=no`]),
      ];
    default:
      return null;
  }
}

/** The command a step runs, or null for a step the engine does in process (moving a file to the trash). */
export function stepCommand(step: Step, run: RunFacts = {}): StepCommand | null {
  const qemu = qemuImgArgs(step, run);
  if (qemu !== null) return { tool: 'qemu-img', args: qemu };
  const virsh = virshArgs(step, run);
  if (virsh !== null) return { tool: 'virsh', args: virsh };
  if (step.kind === 'keep-copy') return { tool: 'cp', args: ['--sparse=always', '--reflink=auto', '--', step.path, step.copy] };
  if (step.kind === 'copy-nvram') return { tool: 'cp', args: ['--reflink=auto', '--', step.path, run.partFile ?? step.copy] };
  return null;
}

/** The arguments that name the connection a tool works on: virsh's URI for a libvirt source. */
function connectionArgs(tool: Tool, source: Source): string[] {
  return tool === 'virsh' && source.kind === 'libvirt' ? ['-c', source.uri] : [];
}

/** Quotes an argument for display the way a shell would need it; the engine never runs a shell. */
function shown(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

/** A command as one line that could be pasted into a shell. */
export function commandLine(args: string[]): string {
  return args.map(shown).join(' ');
}

/**
 * A step's command as a person could type it, for the preview and the log; null for a step done in process. On a
 * host reached over SSH, a tool that works on its files (qemu-img, cp) runs there: the line is the ssh command
 * that runs it, its remote command line one argument (as ssh hands it to the login shell there).
 */
export function stepLine(step: Step, source: Source): string[] | null {
  const command = stepCommand(step);
  if (command === null) return null;
  const line = [command.tool, ...connectionArgs(command.tool, source), ...command.args];
  const target = command.tool !== 'virsh' && source.kind === 'libvirt' ? sshTargetOf(source.uri) : null;
  if (target === null) return line;
  const options = [
    ...(target.port !== undefined ? ['-p', String(target.port)] : []),
    ...(target.user !== undefined ? ['-l', target.user] : []),
    ...(target.keyfile !== undefined ? ['-i', target.keyfile] : []),
  ];
  return ['ssh', ...options, target.host, commandLine(line)];
}
