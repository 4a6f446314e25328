// The static site (python3 tasks.py site) in headless Chromium, served over HTTP from its folder:
//   every chapter page loads, has as many rendered plots as its notebook has image outputs, chapter 00's
//   Mermaid diagram renders, saved widgets render, and every link within the site leads to a page
//   (and to an anchor that exists on it). Screenshots of a failure go to build/browser/site/.
//
//   node tests/browser/site.mjs [SITE_DIR]      (default: build/site)
import { createServer } from "node:http";
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { extname, join, normalize, resolve } from "node:path";
import { ROOT, elapsed, launch, screenshotDir, step, until } from "./lib.mjs";

const SITE = resolve(process.argv[2] ?? join(ROOT, "build", "site"));
const NOTEBOOKS = join(ROOT, "notebooks");
const DEADLINE_S = Number(process.env.PERFLAB_BROWSER_DEADLINE ?? 180);
const shots = screenshotDir("site");
for (const old of readdirSync(shots)) rmSync(join(shots, old));
if (!existsSync(join(SITE, "index.html"))) {
  console.error(`FAIL: no site in ${SITE} — build it first: python3 tasks.py site`);
  process.exit(1);
}

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml",
  ".png": "image/png", ".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf", ".eot": "application/vnd.ms-fontobject" };
const server = createServer((req, res) => {
  const path = normalize(join(SITE, decodeURIComponent(new URL(req.url, "http://x").pathname)));
  const file = path.endsWith("/") ? join(path, "index.html") : path;
  if (!file.startsWith(SITE) || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404).end("not found");
    return;
  }
  res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const base = `http://127.0.0.1:${server.address().port}/`;

/** How many plots (image outputs) a chapter's notebook has. */
function imageOutputs(page) {
  const nb = JSON.parse(readFileSync(join(NOTEBOOKS, page.replace(/\.html$/, ".ipynb")), "utf8"));
  return nb.cells.flatMap((c) => c.outputs ?? []).filter((o) => Object.keys(o.data ?? {}).some((k) => k.startsWith("image/"))).length;
}

const pages = readdirSync(SITE).filter((f) => f.endsWith(".html")).sort();
const chapters = pages.filter((p) => /^\d\d-.*\.html$/.test(p));
const failures = [];
let browser;
const watchdog = setTimeout(async () => {
  console.error(`FAIL: the site test ran over its ${DEADLINE_S} s`);
  await browser?.close().catch(() => {});
  process.exit(1);
}, DEADLINE_S * 1000);

try {
  browser = await launch();
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.setDefaultTimeout(20_000);
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // The site is self-contained: every request goes to the site itself and succeeds.
  page.on("request", (r) => { if (!r.url().startsWith(base) && !r.url().startsWith("data:")) errors.push(`fetched from elsewhere: ${r.url()}`); });
  page.on("requestfailed", (r) => errors.push(`failed to load ${r.url()}`));
  page.on("response", (r) => { if (r.status() >= 400) errors.push(`HTTP ${r.status()} for ${r.url()}`); });
  const ids = new Map(); // page -> the ids on it, for the links' anchors
  const linked = new Set(); // in-site targets "page#anchor", checked once each below

  for (const name of pages) {
    const problems = [];
    await step(`${name}`, async () => {
      errors.length = 0;
      const response = await page.goto(base + name, { waitUntil: "load" });
      if (response.status() !== 200) problems.push(`HTTP ${response.status()}`);
      if (chapters.includes(name)) {
        const expected = imageOutputs(name);
        const plots = page.locator(".jp-OutputArea-output img");
        await until(`${name}: ${expected} plots`, async () => (await plots.count()) >= expected, 10_000).catch((e) => problems.push(e.message));
        const broken = await plots.evaluateAll((imgs) => imgs.filter((i) => !(i.complete && i.naturalWidth > 0)).length);
        if (broken) problems.push(`${broken} plot(s) did not load`);
        if (!(await page.locator(".perflab-run a.perflab-binder").count())) problems.push("no Binder link");
        if (!(await page.locator(".perflab-run pre", { hasText: "python3 tasks.py course" }).count())) problems.push("no run commands");
      }
      if (readFileSync(join(SITE, name), "utf8").includes('class="jp-Mermaid"')) {
        await page.locator(".jp-RenderedMermaid:not(.jp-mod-warning) svg").first().waitFor({ state: "attached" })
          .catch(() => problems.push("the Mermaid diagram did not render"));
      }
      if (await page.locator("script[type='application/vnd.jupyter.widget-state+json']").count()) {
        await page.locator(".widget-slider").first().waitFor({ state: "attached" })
          .catch(() => problems.push("the saved widgets did not render as sliders"));
      }
      ids.set(name, new Set(await page.evaluate(() => [...document.querySelectorAll("[id]")].map((e) => e.id))));
      for (const href of await page.locator("a[href]").evaluateAll((as) => as.map((a) => a.href))) {
        if (href.startsWith(base)) linked.add(href.slice(base.length));
      }
      if (errors.length) problems.push(`script errors: ${errors.join("; ").slice(0, 500)}`);
      if (problems.length) {
        await page.screenshot({ path: join(shots, name.replace(".html", ".png")) });
        failures.push(`${name}: ${problems.join("; ")}`);
      }
      if (name === "00-welcome.html") {
        await page.locator(".jp-RenderedMermaid").first().scrollIntoViewIfNeeded().catch(() => {});
        await page.screenshot({ path: join(shots, "00-welcome-diagram.png") });
      }
      if (name === "02-n-plus-one.html") {
        await page.locator(".widget-slider").first().scrollIntoViewIfNeeded().catch(() => {});
        await page.screenshot({ path: join(shots, "02-n-plus-one-widget.png") });
      }
    });
  }

  await step(`${linked.size} links within the site lead somewhere`, async () => {
    for (const target of linked) {
      const [file, anchor] = target.split("#");
      const path = join(SITE, file || "index.html");
      if (!existsSync(path)) { failures.push(`broken link: ${target}`); continue; }
      const on = ids.get(file || "index.html");
      if (anchor && !on?.has(anchor) && !on?.has(decodeURIComponent(anchor))) failures.push(`no anchor: ${target}`);
    }
  });
  const index = readFileSync(join(SITE, "index.html"), "utf8");
  for (const chapter of chapters) if (!index.includes(`href="${chapter}"`)) failures.push(`index.html does not link ${chapter}`);
  for (const nb of readdirSync(NOTEBOOKS).filter((f) => /^\d\d-.*\.ipynb$/.test(f))) {
    if (!chapters.includes(nb.replace(/\.ipynb$/, ".html"))) failures.push(`no page for notebooks/${nb}`);
  }
} catch (error) {
  failures.push(error.message);
}
clearTimeout(watchdog);
await browser?.close().catch(() => {});
server.close();
for (const problem of failures) console.error(`FAIL: ${problem}`);
console.log(`site test ${failures.length ? "FAILED" : "passed"}: ${pages.length} pages in ${elapsed()} s; screenshots in ${shots}`);
process.exit(failures.length ? 1 : 0);
