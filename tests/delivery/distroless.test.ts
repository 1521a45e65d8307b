/**
 * The compiled binary in a root shaped like the distroless image and the ECS task: only the glibc
 * libraries `ldd` names, /etc/passwd with uid 65532, /proc mounted, the root read-only, a tmpfs /tmp, the
 * process as uid 65532 holding no capability and with no_new_privs, and PID 1 of its own PID
 * namespace (as in a container). Built here with `bun scripts/build.ts`, once per source state (cached
 * under node_modules/.cache). Needs root for the mount namespace; elsewhere (GitHub's runner) via sudo.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { freePort } from "../../scripts/free-port.ts";
import { APP } from "../../terraform/config.ts";
import { builtBinary } from "../helpers/binary.ts";

const SUDO = process.getuid?.() === 0 ? [] : ["sudo", "-n"];
const [uid, gid] = APP.user.split(":");

/** The shared libraries `ldd` names, by the absolute path the loader will look for. */
function linkedLibraries(binary: string): string[] {
  const ldd = Bun.spawnSync(["ldd", binary], { stdout: "pipe" }).stdout.toString();
  return [...ldd.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1] ?? "");
}

let root: string;
let launcher: string;
let libraries: string[];
beforeAll(() => {
  const binary = builtBinary();
  const dir = mkdtempSync(join(tmpdir(), "shop-distroless-"));
  root = join(dir, "root");
  for (const d of ["etc", "proc", "tmp"]) mkdirSync(join(root, d), { recursive: true });
  copyFileSync(binary, join(root, "shop"));
  chmodSync(join(root, "shop"), 0o555);
  libraries = linkedLibraries(binary);
  for (const lib of libraries) {
    mkdirSync(join(root, dirname(lib)), { recursive: true });
    copyFileSync(lib, join(root, lib));
  }
  writeFileSync(
    join(root, "etc", "passwd"),
    `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${uid}:${gid}:nonroot:/home/nonroot:/sbin/nologin\n`,
  );
  writeFileSync(join(root, "etc", "group"), `root:x:0:\nnonroot:x:${gid}:\n`);
  // Runs in a fresh mount and PID namespace: the root bound read-only onto itself, /proc and /tmp inside
  // it, then the binary as the image's user with no capabilities left to gain.
  launcher = join(dir, "launch.sh");
  writeFileSync(
    launcher,
    [
      "set -e",
      "R=$1; shift",
      'mount --bind "$R" "$R"',
      'mount -o remount,bind,ro "$R"',
      'if [ "$WITH_PROC" = 1 ]; then mount -t proc proc "$R/proc"; fi',
      'mount -t tmpfs -o size=16m,mode=1777 tmpfs "$R/tmp"',
      // The bounding set keeps only what chroot itself needs to enter the root and become the user; once
      // it has, the process holds none of them and, with no_new_privs, can never gain one.
      `exec setpriv --bounding-set=-all,+sys_chroot,+setuid,+setgid --inh-caps=-all --no-new-privs chroot --userspec=${APP.user} "$R" "$@"`,
      "",
    ].join("\n"),
  );
});
afterAll(() => {
  if (root) rmSync(dirname(root), { recursive: true, force: true });
});

function sandbox(args: string[], env: Record<string, string> = {}, withProc = true) {
  return Bun.spawn(
    [
      ...SUDO,
      "unshare",
      "--mount",
      "--pid",
      "--fork",
      "--propagation",
      "private",
      "sh",
      launcher,
      root,
      "/shop",
      ...args,
    ],
    {
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", WITH_PROC: withProc ? "1" : "0", ...env },
      stdout: "pipe",
      stderr: "pipe",
    },
  );
}

async function finished(proc: ReturnType<typeof sandbox>) {
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

/** A /proc file of a process that is not ours (read through sudo where the tests do not run as root). */
const readProc = (path: string) =>
  SUDO.length === 0 ? readFileSync(path, "utf8") : Bun.spawnSync([...SUDO, "cat", path]).stdout.toString();

/** The host PID of the process `unshare --fork` started (it exec'd into the binary). */
function child(pid: number): number | undefined {
  const children = readProc(`/proc/${pid}/task/${pid}/children`).trim();
  return children ? Number(children.split(" ")[0]) : undefined;
}

describe("the binary in a distroless-like root", () => {
  test("holds only glibc: the libraries ldd names are libc, libm, libpthread, libdl and the loader", () => {
    const names = libraries.map((l) => l.slice(l.lastIndexOf("/") + 1).replace(/\.so.*$/, ""));
    const glibc = ["ld-linux-x86-64", "ld-linux-aarch64", "libc", "libdl", "libm", "libpthread"];
    for (const name of names) expect({ name, glibc: glibc.includes(name) }).toEqual({ name, glibc: true });
    expect(names).toContain("libc");
    expect(statSync(join(root, "shop")).mode & 0o777).toBe(0o555);
  });

  test("--version exits 0", async () => {
    const r = await finished(sandbox(["--version"]));
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toMatch(/^shop \d+\.\d+\.\d+ \(revision \w+, bun [\d.]+\)\n$/);
  });

  test("without /proc Bun aborts (why ECS and the image notes insist on it)", async () => {
    const r = await finished(sandbox(["--version"], {}, false));
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toContain("shop ");
  });

  test("serves as uid 65532 with no capabilities on a read-only root; healthcheck exits 0 then 1; SIGTERM → 0", async () => {
    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    const server = sandbox(["--role", "all"], {
      PORT: String(port),
      HOST: "127.0.0.1",
      SHUTDOWN_DRAIN_MS: "100",
      LOG_LEVEL: "warn",
    });
    try {
      let ready = false;
      for (let i = 0; i < 200 && !ready && server.exitCode === null; i++) {
        ready = await fetch(`${base}/ready`).then(
          (r) => r.status === 200,
          () => false,
        );
        if (!ready) await Bun.sleep(50);
      }
      expect(ready).toBe(true);
      expect((await fetch(`${base}/health`)).status).toBe(200);

      const pid = child(server.pid) ?? 0;
      const status = readProc(`/proc/${pid}/status`);
      expect(status).toMatch(new RegExp(`^Uid:\\s+${uid}\\s+${uid}\\s+${uid}\\s+${uid}$`, "m"));
      for (const set of ["CapInh", "CapPrm", "CapEff", "CapAmb"])
        expect(status).toMatch(new RegExp(`^${set}:\\s+0+$`, "m"));
      // CAP_SETGID (6), CAP_SETUID (7), CAP_SYS_CHROOT (18) at most: the sandbox's own, not the binary's.
      const bounding = BigInt(`0x${status.match(/^CapBnd:\s+([0-9a-f]+)$/m)?.[1] ?? "f"}`);
      expect(bounding & ~((1n << 6n) | (1n << 7n) | (1n << 18n))).toBe(0n);
      expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
      expect(status).toMatch(/^NSpid:\s+\d+\s+1$/m);
      const rootMount = readProc(`/proc/${pid}/mountinfo`)
        .split("\n")
        .find((l) => l.split(" ")[4] === "/");
      expect(rootMount?.split(" ")[5]?.split(",")).toContain("ro");

      expect((await finished(sandbox(["healthcheck", "--url", `${base}/health`]))).code).toBe(0);
      expect(
        (await finished(sandbox(["healthcheck", "--url", `http://127.0.0.1:${freePort()}/health`]))).code,
      ).toBe(1);

      Bun.spawnSync([...SUDO, "kill", "-TERM", String(pid)]);
      const r = await finished(server);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    } finally {
      if (server.exitCode === null)
        Bun.spawnSync([...SUDO, "kill", "-KILL", String(child(server.pid) ?? server.pid)]);
    }
  });
});
