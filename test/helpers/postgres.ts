/**
 * A throw-away PostgreSQL 15 cluster (Debian's binaries; pgvector from ../shared/vendor, installed
 * by .ci/run) on a free loopback port, for the tests that need a real database. Started once per
 * test file, stopped (and its folder removed) at the end. Without PostgreSQL the tests are skipped
 * with the reason, except in CI, where its absence fails.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const PG_BIN = process.env.BERT_TS_PG_BIN ?? "/usr/lib/postgresql/15/bin";
const mustExist = process.env.CI === "true";

/** false when PostgreSQL + pgvector can be started here, else why not (throws in CI). */
export function skipUnlessPostgres(): string | false {
  const missing = ["initdb", "pg_ctl", "postgres"].filter((b) => !existsSync(join(PG_BIN, b)));
  let reason: string | false = false;
  if (missing.length > 0) reason = `PostgreSQL 15 not installed (${missing.join(", ")} missing in ${PG_BIN}; ../shared/vendor/install-pgvector.sh installs it)`;
  else if (!existsSync("/usr/share/postgresql/15/extension/vector.control")) reason = "pgvector not installed (run ../shared/vendor/install-pgvector.sh)";
  if (reason && mustExist) throw new Error(`${reason}; CI requires it`);
  return reason;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface PostgresCluster {
  port: number;
  /** A new empty database with the vector extension; its URL. */
  createDatabase(name: string): string;
  /** SQL through psql, for checks from a test (returns stdout, unaligned, no headers). */
  psql(database: string, sql: string): string;
  /**
   * CPU seconds (user + sys) the cluster's processes have used so far: the postmaster, its live
   * children (backends, background workers) and the children it has reaped. Read from /proc (Linux);
   * NaN elsewhere. Benchmarks take the difference around a run.
   */
  serverCpuSeconds(): number;
  stop(): void;
}

/** initdb + pg_ctl start as the postgres user when running as root (initdb refuses root). */
export async function startPostgres(): Promise<PostgresCluster> {
  const dir = mkdtempSync(join(tmpdir(), "bert-ts-pg-"));
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? "postgres" : undefined;
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    chownSync(dir, uid, gid);
  }
  const as = (cmd: string, args: string[]) => {
    const r = user ? spawnSync("runuser", ["-u", user, "--", cmd, ...args], { encoding: "utf8" }) : spawnSync(cmd, args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr || r.stdout}`);
    return r.stdout;
  };
  const data = join(dir, "data");
  as(join(PG_BIN, "initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  const port = await freePort();
  // fsync off: these clusters are thrown away; crash tests kill clients, not the server.
  as(join(PG_BIN, "pg_ctl"), ["-D", data, "-w", "-l", join(dir, "log"), "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`, "start"]);
  const psql = (database: string, sql: string) => {
    const r = spawnSync("psql", ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
    return r.stdout;
  };
  return {
    port,
    createDatabase(name: string): string {
      psql("postgres", `CREATE DATABASE ${name}`);
      psql(name, "CREATE EXTENSION vector");
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    psql,
    serverCpuSeconds(): number {
      return clusterCpuSeconds(data);
    },
    stop(): void {
      try {
        as(join(PG_BIN, "pg_ctl"), ["-D", data, "-m", "immediate", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Clock ticks per second of /proc/PID/stat's times (USER_HZ: 100 on Linux, whatever the kernel's HZ). */
const USER_HZ = 100;

/** utime + stime (+ cutime + cstime: reaped children) of a process, in ticks, and its parent; null once it is gone. */
function processTicks(pid: string, withChildren: boolean): { parent: number; ticks: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces, hence the last ")"): state ppid ... utime(14) stime(15) cutime(16) cstime(17).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
    return { parent: Number(fields[1]), ticks: utime + stime + (withChildren ? cutime + cstime : 0) };
  } catch {
    return null;
  }
}

function clusterCpuSeconds(data: string): number {
  try {
    const postmaster = readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0].trim();
    const own = processTicks(postmaster, true);
    if (!own) return Number.NaN;
    let ticks = own.ticks;
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      const child = processTicks(entry, false);
      if (child && String(child.parent) === postmaster) ticks += child.ticks;
    }
    return ticks / USER_HZ;
  } catch {
    return Number.NaN;
  }
}
