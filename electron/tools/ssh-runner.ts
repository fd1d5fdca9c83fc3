/**
 * Runs commands on a remote hypervisor over SSH, behind the same HostRunner interface as this computer's commands:
 * the qemu-img adapter and every other tool adapter drive a host they know nothing of.
 *
 * - The system's `ssh` client, so the user's ssh config, agent, keys and known hosts apply as they do for
 *   `virsh -c qemu+ssh://…`; BatchMode, so it never asks on a terminal (an unknown host key or a refused login
 *   is an error saying so, not a prompt nobody sees).
 * - One connection per host, shared by every command (ControlMaster, in a folder only this user can enter).
 * - ssh hands the remote side one command line for the login shell: each argument is single-quoted there, which
 *   keeps every byte but NUL as it is, and NUL cannot be in an argument.
 * - A small wrapper runs the tool and stops it when the SSH channel closes (a cancel, a timeout, a lost
 *   connection), as a local command stops when its process is killed. It marks the start of its stderr, so that
 *   ssh's own failures (exit 255 before the wrapper ran) are told apart from the tool's.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../shared/errors';
import type { SshTarget } from '../../shared/source-rules';
import { localRunner, runCancelledError, runTimeoutError, type HostRunner, type RunnerChild, type RunnerOptions, type RunResult, type SpawnOptions } from './host-runner';

/** How long a stopped remote command may take to end before the local ssh client is killed. */
const KILL_AFTER_MS = 5000;

/** Printed by the wrapper on stderr before the tool starts: the remote command ran. */
const STARTED = '@virt-snaptree-started@';
/** Printed by the wrapper on stderr, on a line of its own, with the tool's exit status when it has ended. */
const ENDED = '@virt-snaptree-ended@';

/**
 * The remote wrapper (POSIX sh; its arguments: the tool's input as base64 or "-", then the tool and its
 * arguments). It keeps its own stdin, the channel, on fd 3 and watches it: when the channel closes, the tool is
 * stopped with everything it started (it runs in a session of its own, util-linux's setsid). No single quote
 * inside, so the whole of it is one single-quoted word.
 */
const WRAPPER = [
  'exec 3<&0',
  // As here (TOOL_ENV): tools answer untranslated and unpaged, whatever the login's locale.
  'export LC_ALL=C LANG=C PAGER=cat',
  'printf "%s\\n" "' + STARTED + '" >&2',
  'in=$1; shift',
  'command -v "$1" >/dev/null 2>&1 || { printf "\\n%s missing\\n" "' + ENDED + '" >&2; exit 127; }',
  'if [ "$in" = - ]; then setsid "$@" </dev/null 3<&- & else printf "%s" "$in" | base64 -d | setsid "$@" 3<&- & fi',
  'p=$!',
  '{ cat <&3 >/dev/null; kill -TERM "-$p" 2>/dev/null; } &',
  'w=$!',
  'wait "$p"; s=$?',
  'kill "$w" 2>/dev/null',
  'printf "\\n%s %s\\n" "' + ENDED + '" "$s" >&2',
  'exit "$s"',
].join('\n');

/** One argument as the remote login shell reads it back whole: single-quoted, a quote inside as '\''. */
export function shellQuote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** The remote command line that runs `tool args` under the wrapper, with `input` (if any) for its stdin. */
export function remoteCommand(tool: string, args: readonly string[], input?: string): string {
  const encoded = input === undefined ? '-' : Buffer.from(input, 'utf8').toString('base64');
  return ['sh', '-c', WRAPPER, 'sh', encoded, tool, ...args].map(shellQuote).join(' ');
}

/** The folder for the shared connections' sockets: this user's alone, made if missing; refused otherwise. */
export function controlDir(base = process.env.XDG_RUNTIME_DIR ?? tmpdir()): string {
  const uid = process.getuid?.() ?? 0;
  const dir = join(base, `virt-snaptree-ssh-${uid}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const info = lstatSync(dir);
  if (!info.isDirectory() || info.uid !== uid || (info.mode & 0o077) !== 0) {
    throw new AppError('E_CONNECT', `${dir} is not a folder only this user can enter; SSH connections are not shared through it.`, { path: dir });
  }
  return dir;
}

/**
 * The name of `target`'s shared connection: one per target as the URI names it (alias, user, port, key), never
 * shared by two aliases of one address (ssh's %C is of the address), so a target whose login would be refused, or
 * whose key or host key settings differ, never rides on another's connection.
 */
export function controlName(target: SshTarget): string {
  return createHash('sha256').update(JSON.stringify([target.host, target.user ?? null, target.port ?? null, target.keyfile ?? null])).digest('hex').slice(0, 24);
}

/** ssh's options for `target`: batch mode, the shared connection, keep-alives, and what the URI names. */
export function sshArgs(target: SshTarget, control: string): string[] {
  return [
    '-o', 'BatchMode=yes',
    '-o', 'ControlMaster=auto',
    '-o', `ControlPath=${join(control, controlName(target))}`,
    '-o', 'ControlPersist=60',
    '-o', 'ServerAliveInterval=5',
    '-o', 'ServerAliveCountMax=3',
    '-o', 'ConnectTimeout=15',
    ...(target.port !== undefined ? ['-p', String(target.port)] : []),
    ...(target.user !== undefined ? ['-l', target.user] : []),
    ...(target.keyfile !== undefined ? ['-i', target.keyfile] : []),
    '-T',
    '-e', 'none',
    '--',
    target.host,
  ]; // prettier-ignore
}

/** What ssh said when it could not run the command at all, as the error a user can act on. */
export function sshFailure(target: SshTarget, stderr: string): AppError {
  const said = stderr.trim().split('\n').filter(Boolean).pop() ?? 'ssh failed';
  return knownSshFailure(target, stderr) ?? new AppError('E_CONNECT', `SSH to ${target.host} failed: ${said}`, { host: target.host, stderr: stderr.trim() });
}

/**
 * What ssh's words in `stderr` (ssh's own, or relayed by libvirt, which runs ssh itself) say went wrong, as the
 * error a user can act on; null when they name none of the failures known here.
 */
export function knownSshFailure(target: SshTarget, stderr: string): AppError | null {
  const said = stderr.trim().split('\n').filter(Boolean).pop() ?? 'ssh failed';
  const where = target.host;
  let message: string;
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known/i.test(stderr)) {
    message = `The SSH host key of ${where} is not known here, or has changed. Connect once with ssh in a terminal and check the key, then try again.`;
  } else if (/Permission denied|Too many authentication failures|no mutual signature/i.test(stderr)) {
    message = `${where} refused the SSH login (${said}). Give a key its user accepts (keyfile= in the URI, or your ssh agent or config).`;
  } else if (/Could not resolve hostname|Name or service not known/i.test(stderr)) {
    message = `The host ${where} cannot be found (${said}).`;
  } else if (/Connection refused|timed out|No route to host|Network is unreachable|Connection closed|Broken pipe|Connection reset/i.test(stderr)) {
    message = `${where} cannot be reached over SSH (${said}).`;
  } else {
    return null;
  }
  return new AppError('E_CONNECT', message, { host: where, stderr: stderr.trim() });
}

/**
 * What the wrapper said of a run: the tool's own stderr (the marks cut off, a trailing newline too) and its exit
 * status ('missing' when the host has no such tool). `ran` is false when the wrapper never started (ssh failed
 * first); `status` is null when it started but never said how the tool ended (the connection was lost meanwhile).
 */
export function wrapperReport(stderr: string): { ran: boolean; stderr: string; status: number | 'missing' | null } {
  const at = stderr.indexOf(STARTED);
  if (at === -1) return { ran: false, stderr, status: null };
  let rest = stderr.slice(0, at) + stderr.slice(stderr[at + STARTED.length] === '\n' ? at + STARTED.length + 1 : at + STARTED.length);
  const end = new RegExp(`\\n${ENDED} (\\d+|missing)\\n?$`).exec(rest);
  if (end === null) return { ran: true, stderr: rest, status: null };
  rest = rest.slice(0, end.index);
  return { ran: true, stderr: rest.endsWith('\n') ? rest.slice(0, -1) : rest, status: end[1] === 'missing' ? 'missing' : Number(end[1]) };
}

/** Runs commands on `target` over SSH; `control` is the folder of the shared connection's socket. */
export function sshRunner(target: SshTarget, control: string = controlDir()): HostRunner {
  const base = sshArgs(target, control);
  const run = async (tool: string, args: readonly string[], options: RunnerOptions = {}): Promise<RunResult> => {
    const { stdin, signal, timeoutMs, ...rest } = options;
    if (signal?.aborted === true) throw runCancelledError(tool, args);
    const input = stdin === undefined || stdin === 'ignore' ? undefined : stdin;
    // A cancel or a timeout closes the channel's input: the wrapper stops the tool, and the command ends with it.
    // Only if it still has not ended a while later is the local ssh client killed.
    const release = new AbortController();
    const kill = new AbortController();
    let why: 'cancel' | 'timeout' | null = null;
    const stop = (reason: 'cancel' | 'timeout') => {
      why ??= reason;
      release.abort();
      setTimeout(() => kill.abort(), KILL_AFTER_MS).unref();
    };
    const onAbort = () => stop('cancel');
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = timeoutMs !== undefined && Number.isFinite(timeoutMs) ? setTimeout(() => stop('timeout'), timeoutMs) : null;
    let result: RunResult;
    try {
      result = await localRunner.run('ssh', [...base, remoteCommand(tool, args, input)], { ...rest, holdStdin: release.signal, signal: kill.signal });
    } catch (error) {
      if (!(error instanceof AppError && error.code === 'E_CANCELLED')) throw error;
      why ??= 'cancel';
      result = { exitCode: null, stdout: '', stderr: '' };
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (timer !== null) clearTimeout(timer);
    }
    // The user asked for the tool, on that host: the errors name it, not ssh.
    if (why === 'cancel') throw runCancelledError(tool, args);
    if (why === 'timeout') throw runTimeoutError(`${tool} on ${target.host}`, args, timeoutMs ?? 0, wrapperReport(result.stderr).stderr);
    const report = wrapperReport(result.stderr);
    if (!report.ran) throw sshFailure(target, result.stderr);
    if (report.status === null) {
      throw new AppError('E_CONNECT', `The SSH connection to ${target.host} was lost while ${tool} ran there; it was stopped.`, { host: target.host, tool, args: [...args], stderr: report.stderr.trim() });
    }
    if (report.status === 'missing') {
      throw new AppError('E_TOOL', `${tool} is not installed on ${target.host} (or not on the PATH of its SSH login).`, { tool, args: [...args], exitCode: 127, stderr: report.stderr.trim(), host: target.host });
    }
    return { exitCode: report.status, stdout: result.stdout, stderr: report.stderr };
  };
  const spawn = (tool: string, args: readonly string[], options: SpawnOptions = {}): RunnerChild =>
    localRunner.spawn('ssh', [...base, ['exec', tool, ...args].map(shellQuote).join(' ')], options);
  return {
    host: target.host,
    describe: () => `${target.user !== undefined ? `${target.user}@` : ''}${target.host} over SSH`,
    run,
    spawn,
  };
}
