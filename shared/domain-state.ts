/**
 * The states, in virsh's words, in which a domain's QEMU process runs: its disks are open (read them with -U,
 * change them only once it is stopped) and its memory can be saved. `idle` is libvirt's "blocked".
 */
const LIVE_STATES = new Set(['running', 'idle', 'paused', 'in shutdown', 'pmsuspended']);

/** Whether a domain in this state (virsh's word) has a QEMU running it. */
export function isLiveState(state: string): boolean {
  return LIVE_STATES.has(state);
}

/**
 * Whether the hypervisor line of a scan (`libvirt 11.3.0, QEMU 10.0.13`) names a libvirt that reverts and deletes
 * external snapshots itself (9.9 and later; docs/safety.md, rule 4).
 */
export function handlesExternalSnapshots(hypervisor: string | null): boolean {
  const version = /^libvirt (\d+)\.(\d+)/.exec(hypervisor ?? '');
  if (version === null) return false;
  const [major, minor] = [Number(version[1]), Number(version[2])];
  return major > 9 || (major === 9 && minor >= 9);
}
