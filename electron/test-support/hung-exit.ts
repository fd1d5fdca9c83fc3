/**
 * Run by libvirt-native.test.ts in a process of its own (`node --import tsx`): opens libvirt through the socket
 * in SNAPTREE_SILENT_SOCKET, which never answers, so the open misses its deadline and its call stays running in
 * the library; then ends with exitProcess(3). Node alone would wait for that call's thread for ever.
 */
import { exitProcess, hungLibvirtCalls, NativeLibvirt } from '../tools/libvirt-native';

const uri = `qemu+unix:///system?socket=${process.env.SNAPTREE_SILENT_SOCKET ?? ''}`;
NativeLibvirt.open(uri, { timeoutMs: 300, connections: 1 }).then(
  () => exitProcess(1),
  () => {
    process.stdout.write(`hung calls: ${hungLibvirtCalls()}\n`);
    exitProcess(3);
  },
);
