// Shared by the browser tests: Debian's Chromium driven by playwright-core (no browser download), a folder of
// screenshots, steps that log their time, and a deadline for the whole test.
import { mkdirSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { createServer } from "node:net";
import { chromium } from "playwright-core";

export const ROOT = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..", "..");

/** The Chromium to drive: $CHROMIUM, else the first of the usual system paths. */
export function chromiumPath() {
  const candidates = [process.env.CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
  const found = candidates.find((path) => path && existsSync(path));
  if (!found) {
    throw new Error("no Chromium found — install it (Debian/Ubuntu: apt-get install -y chromium) or set CHROMIUM=/path");
  }
  return found;
}

export async function launch() {
  return chromium.launch({ executablePath: chromiumPath(), headless: true });
}

/** Screenshots go to build/browser/NAME/ (git-ignored; CI prints the folder). */
export function screenshotDir(name) {
  const dir = join(ROOT, "build", "browser", name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export async function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.unref();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

const started = Date.now();
export const elapsed = () => ((Date.now() - started) / 1000).toFixed(1);

/** Run one named step; log its time. */
export async function step(name, fn) {
  const t0 = Date.now();
  const result = await fn();
  console.log(`  ok  ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return result;
}

/** Poll `probe` until it returns a truthy value; fail with `what` after `ms`. */
export async function until(what, probe, ms, every = 250) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = await probe();
    if (last) return last;
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
}
