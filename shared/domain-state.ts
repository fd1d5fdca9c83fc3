/**
 * The states, in virsh's words, in which a domain's QEMU process runs: its disks are open (read them with -U,
 * change them only once it is stopped) and its memory can be saved. `idle` is libvirt's "blocked".
 */
const LIVE_STATES = new Set(['running', 'idle', 'paused', 'in shutdown', 'pmsuspended']);

/** Whether a domain in this state (virsh's word) has a QEMU running it. */
export function isLiveState(state: string): boolean {
  return LIVE_STATES.has(state);
}
