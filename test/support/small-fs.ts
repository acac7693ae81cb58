import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A real, tiny filesystem (tmpfs of `bytes`) so "disk full" is the kernel's ENOSPC, not a SQLite
 * page limit. Needs root (CAP_SYS_ADMIN); returns undefined where mounting is not permitted.
 */
export function mountSmallFs(bytes: number): { dir: string; cleanup: () => void } | undefined {
  const dir = mkdtempSync(join(tmpdir(), "pkb-hub-smallfs-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${bytes},mode=0700`, "tmpfs", dir], {
      stdio: "ignore",
    });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  return {
    dir,
    cleanup: () => {
      execFileSync("umount", [dir], { stdio: "ignore" });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs `test` in a fresh tmpfs of `bytes` (with a filler file of `fillerBytes` the test may remove to
 * give space back), unmounted afterwards; skips the test where mounting is not permitted.
 */
export async function onSmallFs(
  ctx: { skip: (note: string) => void },
  bytes: number,
  fillerBytes: number,
  test: (dir: string, filler: string) => Promise<void>,
): Promise<void> {
  const fs = mountSmallFs(bytes);
  if (!fs) return ctx.skip("mounting a tmpfs is not permitted here (needs root)");
  try {
    const filler = join(fs.dir, "filler");
    writeFileSync(filler, Buffer.alloc(fillerBytes, 1));
    await test(fs.dir, filler);
  } finally {
    fs.cleanup();
  }
}
