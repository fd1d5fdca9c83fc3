/**
 * Which libvirt connections the engine may open (docs/safety.md, rule 10). A connection URI is a program launcher in
 * disguise: `qemu+ext:///system?command=…` runs any program, and `socket`, `netcat`, `proxy` or `command`
 * parameters pick what the client starts or connects to. Only the local QEMU driver and its SSH and TLS
 * transports are accepted, with the few parameters those transports need to authenticate, and nothing else.
 */

/** Query parameters a remote URI may carry: they choose keys and host-key checks, never a program or socket. */
const SAFE_PARAMS: Record<string, RegExp> = {
  keyfile: /^\/[^\s]*$/,
  known_hosts: /^\/[^\s]*$/,
  known_hosts_verify: /^(normal|auto|ignore)$/,
  no_verify: /^[01]$/,
  no_tty: /^[01]$/,
  sshauth: /^(agent|privkey|password|keyboard-interactive)(,(agent|privkey|password|keyboard-interactive))*$/,
  pkipath: /^\/[^\s]*$/,
};

/** `scheme://[user@]host[:port]/path[?query]`, with nothing a URL parser would have to guess at. */
const REMOTE = /^(qemu\+ssh|qemu\+tls):\/\/(?:([^@/?#]*)@)?([^/?#:@[\]]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?(\/[^?#]*)(?:\?([^#]*))?$/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])$/;
const USER = /^[A-Za-z0-9_.][A-Za-z0-9_.-]*$/;
const PATHS = new Set(['/system', '/session']);

function decoded(text: string): string | null {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    return null;
  }
}

/** Why the query of a remote URI is refused, or null when every parameter is a safe one with a value it can take. */
function queryProblem(query: string): string | null {
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decoded(eq === -1 ? pair : pair.slice(0, eq));
    const value = decoded(eq === -1 ? '' : pair.slice(eq + 1));
    if (key === null || value === null) return 'The connection URI has a badly encoded parameter.';
    const rule = SAFE_PARAMS[key];
    if (rule === undefined || !Object.prototype.hasOwnProperty.call(SAFE_PARAMS, key)) {
      return `The connection parameter "${key}" is not accepted: parameters that start programs or pick sockets (command, netcat, socket, proxy and the like) are never used.`;
    }
    if (!rule.test(value)) return `The connection parameter "${key}" has a value it cannot take.`;
  }
  return null;
}

/**
 * Why the engine will not open this connection URI, or null when it may. Accepted: `qemu:///system`,
 * `qemu:///session`, and `qemu+ssh://[user@]host[:port]/system|session` or `qemu+tls://…` with only
 * authentication parameters.
 */
export function connectionUriProblem(uri: string): string | null {
  if (uri === 'qemu:///system' || uri === 'qemu:///session') return null;
  if (/^qemu:\/\//i.test(uri)) return 'The local QEMU driver is qemu:///system or qemu:///session, with nothing else.';
  const match = REMOTE.exec(uri);
  if (match === null) {
    return /^[a-z][a-z0-9+.-]*:\/\//i.test(uri) && !/^qemu\+(ssh|tls):\/\//.test(uri)
      ? 'Only qemu:///system, qemu:///session, qemu+ssh:// and qemu+tls:// connections are accepted.'
      : 'A connection URI looks like qemu:///system or qemu+ssh://user@host/system.';
  }
  const [, , user, host = '', port, path = '', query] = match;
  if (!HOST.test(host)) return 'A remote connection names a host: qemu+ssh://user@host/system.';
  if (user !== undefined) {
    if (user.includes(':')) return 'A connection URI cannot carry a password; use a key or an agent.';
    const name = decoded(user);
    if (name === null || !USER.test(name)) return 'The user name in the connection URI is not a plain user name.';
  }
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return 'The port in the connection URI is out of range.';
  if (!PATHS.has(path)) return 'A remote connection ends in /system or /session.';
  return query === undefined ? null : queryProblem(query);
}

/** Where an SSH connection URI reaches: the host as ssh is given it, the user, port and key file it names. */
export interface SshTarget {
  /** A host name, an address, or an alias of the user's ssh config. */
  host: string;
  user?: string;
  port?: number;
  /** The `keyfile` parameter: a private key to offer, as libvirt's ssh transport offers it. */
  keyfile?: string;
}

/**
 * The SSH target of a `qemu+ssh://` URI the engine accepts (see connectionUriProblem); null for any other URI.
 * Image files of such a connection live on that host and are reached through it, never on this computer.
 */
export function sshTargetOf(uri: string): SshTarget | null {
  if (connectionUriProblem(uri) !== null) return null;
  const match = REMOTE.exec(uri);
  if (match === null || match[1] !== 'qemu+ssh') return null;
  const [, , user, host = '', port, , query] = match;
  const target: SshTarget = { host: host.startsWith('[') ? host.slice(1, -1) : host };
  if (user !== undefined) target.user = decoded(user) ?? user;
  if (port !== undefined) target.port = Number(port);
  for (const pair of (query ?? '').split('&')) {
    const eq = pair.indexOf('=');
    if (eq !== -1 && decoded(pair.slice(0, eq)) === 'keyfile') target.keyfile = decoded(pair.slice(eq + 1)) ?? undefined;
  }
  return target;
}
