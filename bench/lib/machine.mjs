// What the numbers ran on: CPU model, cores, memory, node version, and how loaded the machine was.
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';

/** A description of this machine for results.json and BENCHMARKS.md. */
export function machineInfo() {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
    freeMemoryGiB: +(freemem() / 2 ** 30).toFixed(1),
    node: process.version,
    kernel: release(),
    loadavg: loadavg().map((x) => +x.toFixed(2)),
  };
}
