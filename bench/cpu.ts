/**
 * CPU time per process group from /proc (Linux): how much of each command the server, the
 * client processes and PostgreSQL's backends spend — the part a JavaScript profile cannot see.
 */
import { readdirSync, readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100;

interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  cpuMs: number;
}

function readProc(pid: number): Proc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = stat.lastIndexOf(")");
    const comm = stat.slice(stat.indexOf("(") + 1, close);
    const fields = stat.slice(close + 2).split(" ");
    // After the name: state(0) ppid(1) … utime(11) stime(12), in clock ticks.
    const cpuTicks = Number(fields[11]) + Number(fields[12]);
    return { pid, ppid: Number(fields[1]), comm, cpuMs: (cpuTicks * 1000) / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

function allProcs(): Proc[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readProc(Number(name)))
    .filter((p): p is Proc => p !== undefined);
}

/** CPU ms of each named group: given pids, plus every `postgres` process descending from us. */
export function cpuSnapshot(groups: Record<string, number[]>): Record<string, number> {
  const procs = allProcs();
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const descendsFromUs = (p: Proc) => {
    for (let q: Proc | undefined = p; q; q = byPid.get(q.ppid)) if (q.ppid === process.pid) return true;
    return false;
  };
  const snapshot: Record<string, number> = {};
  for (const [name, pids] of Object.entries(groups)) {
    snapshot[name] = pids.reduce((sum, pid) => sum + (byPid.get(pid)?.cpuMs ?? 0), 0);
  }
  snapshot.postgres = procs.filter((p) => p.comm === "postgres" && descendsFromUs(p)).reduce((s, p) => s + p.cpuMs, 0);
  return snapshot;
}

export function cpuDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(after).map((k) => [k, after[k]! - (before[k] ?? 0)]));
}
