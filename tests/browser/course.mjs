// The course in a real browser: start it with the README's command, then in headless Chromium
//   chapter 00 opens, Run All completes without an error, the Mermaid diagram and a plot render;
//   chapter 02's widget shows sliders and re-measures when one moves;
//   a JupyterLab terminal runs `perflab doctor` and its report appears.
// Screenshots of each stage (and of a failure) go to build/browser/course/. JupyterLab, its kernels and
// terminals and the browser are stopped at the end, and the test fails if any process of the run is left.
//
//   node tests/browser/course.mjs [PYTHON]      (PYTHON runs tasks.py; default python3)
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, elapsed, freePort, launch, screenshotDir, step, until } from "./lib.mjs";

const PYTHON = process.argv[2] ?? "python3";
const DEADLINE_S = Number(process.env.PERFLAB_BROWSER_DEADLINE ?? 420); // the whole test, server start included
const MARK = `perflab-browser-${process.pid}-${Date.now()}`; // in the environment of every process the test starts
process.env.PERFLAB_BROWSER_MARK = MARK; // Chromium too, so that a browser left running is found as well
const shots = screenshotDir("course");
for (const old of readdirSync(shots)) rmSync(join(shots, old));

// JupyterLab's state for this run only: no saved workspace reopens old tabs, no news toast covers the page,
// every cell stays in the DOM (windowing off), and the terminal keeps an accessible copy of its text.
const scratch = mkdtempSync(join(tmpdir(), "perflab-browser-"));
const settings = join(scratch, "settings");
const userSettings = {
  "@jupyterlab/apputils-extension/notification.jupyterlab-settings": { fetchNews: "false", checkForUpdates: false },
  "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": { windowingMode: "none" },
  "@jupyterlab/terminal-extension/plugin.jupyterlab-settings": { screenReaderMode: true },
  "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": { autosave: false },
};
// The run must leave the committed chapters as they were: autosave is off, and any file it changed anyway is
// put back (and the test fails).
const chapterFiles = readdirSync(join(ROOT, "notebooks")).filter((f) => f.endsWith(".ipynb"));
const saved = new Map(chapterFiles.map((f) => [f, readFileSync(join(ROOT, "notebooks", f))]));
for (const [file, value] of Object.entries(userSettings)) {
  const path = join(settings, file);
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, JSON.stringify(value));
}

let course;
let browser;
let page;
let log = "";
const failures = []; // problems found on the way; the test fails at the end if there are any

function startCourse(port) {
  const env = {
    ...process.env,
    JUPYTERLAB_SETTINGS_DIR: settings,
    JUPYTERLAB_WORKSPACES_DIR: join(scratch, "workspaces"),
    JUPYTER_RUNTIME_DIR: join(scratch, "runtime"),
  };
  // The README's command, in its own process group so that stopping it reaches everything it started.
  course = spawn(PYTHON, ["tasks.py", "course", "--no-browser", "--port", String(port)], {
    cwd: ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"],
  });
  course.stdout.on("data", (d) => (log += d));
  course.stderr.on("data", (d) => (log += d));
  return until("the course URL with its token", () => {
    if (course.exitCode !== null) throw new Error(`the course command exited (${course.exitCode}):\n${log}`);
    return log.match(/http:\/\/(?:127\.0\.0\.1|localhost):\d+\/lab\/tree\/00-welcome\.ipynb\?token=\w+/)?.[0];
  }, 240_000, 200); // the first run also sets up .venv and builds the dataset
}

/** Processes (other than this one) whose environment carries this run's mark. */
function leftovers() {
  const found = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p) && p !== String(process.pid))) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, "latin1").includes(MARK)) {
        found.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, "latin1").replaceAll("\0", " ").slice(0, 120)}`);
      }
    } catch { /* gone, or not ours to read */ }
  }
  return found;
}

async function stopCourse() {
  if (!course || course.exitCode !== null) return;
  const exited = new Promise((r) => course.once("exit", r));
  try { process.kill(-course.pid, "SIGTERM"); } catch { /* already gone */ }  // JupyterLab shuts its kernels down
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
}

async function shot(name) {
  if (page) await page.screenshot({ path: join(shots, `${name}.png`), fullPage: false }).catch(() => {});
}

// --- JupyterLab helpers -------------------------------------------------------------------------------------

async function menu(...labels) {
  await page.locator(".lm-MenuBar-itemLabel", { hasText: new RegExp(`^${labels[0]}$`) }).click();
  for (const label of labels.slice(1)) {
    const item = page.locator(".lm-Menu:visible .lm-Menu-itemLabel", { hasText: new RegExp(`^${label}$`) }).last();
    await item.hover();
    await item.click();
  }
}

const notebook = () => page.locator(".jp-NotebookPanel:visible");

async function kernelIdle() {
  return notebook().locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').count().catch(() => 0);
}

/** The tags of each code cell of a chapter, in order (from the .ipynb: the page does not show them). */
function codeCellTags(file) {
  const nb = JSON.parse(readFileSync(join(ROOT, "notebooks", file), "utf8"));
  return nb.cells.filter((c) => c.cell_type === "code").map((c) => c.metadata?.tags ?? []);
}

/** An error output (a traceback, or its last line under %xmode Minimal), as opposed to a warning on stderr. */
const raised = (stderr) => /Traceback \(most recent call last\)|^\w*(Error|Exception)\b/m.test(stderr);

/** Clear the outputs, Run All, and wait until it stops; fail unless every code cell ran and the only errors
 * are in cells tagged raises-exception (which JupyterLab runs with stop_on_error off). */
async function runAll(file, ms) {
  const tags = codeCellTags(file);
  const prompts = () => notebook().evaluate((nb) =>
    [...nb.querySelectorAll(".jp-CodeCell .jp-InputArea-prompt")].map((p) => p.textContent.trim()));
  await until(`${file}: kernel ready`, kernelIdle, 60_000);
  await menu("Edit", "Clear Outputs of All Cells"); // the saved outputs and prompts must not pass for new ones
  await until(`${file}: outputs cleared`, async () => !(await prompts()).some((p) => /\d/.test(p)), 10_000);
  await menu("Run", "Run All Cells");
  await until(`${file}: Run All to start`, async () => (await prompts()).some((p) => /\*|\d/.test(p)), 10_000, 100);
  await until(`${file}: Run All to finish`, async () =>
    !(await prompts()).some((p) => p.includes("*")) && (await kernelIdle()), ms, 500);
  const state = await notebook().evaluate((nb) => [...nb.querySelectorAll(".jp-CodeCell")].map((cell) => ({
    prompt: cell.querySelector(".jp-InputArea-prompt")?.textContent.trim(),
    text: [...cell.querySelectorAll(".jp-OutputArea-output")].map((o) => o.textContent).join("\n"),
    stderr: [...cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
      .map((o) => o.textContent).join("\n"),
  })));
  if (state.length !== tags.length) throw new Error(`${file}: ${state.length} code cells on the page, ${tags.length} in the file`);
  const problems = [];
  state.forEach((cell, i) => {
    const expected = tags[i].includes("raises-exception");
    if (!/^\[\d+\]:$/.test(cell.prompt)) problems.push(`code cell ${i + 1} did not run (${cell.prompt})`);
    else if (raised(cell.stderr) && !expected) problems.push(`code cell ${i + 1} raised:\n${cell.text.slice(-1500)}`);
    else if (!raised(cell.stderr) && expected) problems.push(`code cell ${i + 1} (tagged raises-exception) raised nothing`);
    else if (cell.stderr && !expected) console.log(`      note: code cell ${i + 1} warned: ${cell.stderr.trim().slice(0, 300)}`);
  });
  // Reported at the end (the test fails), after the checks that do not depend on the cells that failed.
  if (problems.length) failures.push(`${file}: Run All:\n${problems.slice(0, 5).join("\n")}`);
  return state.length;
}

/** Open a chapter from the file browser (as a learner would; reloading the page would race the restored tabs). */
async function openChapter(file, title) {
  await page.locator(".jp-DirListing-itemText", { hasText: new RegExp(`^${file.replaceAll(".", "\\.")}$`) }).dblclick();
  await until(`${file} to open`, async () => (await page.locator(".jp-NotebookPanel:visible").count()) === 1
    && (await notebook().locator("h1", { hasText: title }).count()) > 0, 60_000);
}

// --- the test -------------------------------------------------------------------------------------------------

const watchdog = setTimeout(async () => {
  console.error(`FAIL: the browser test ran over its ${DEADLINE_S} s`);
  await shot("timeout");
  await cleanup();
  process.exit(1);
}, DEADLINE_S * 1000);

async function cleanup() {
  const running = leftovers().length;
  await browser?.close().catch(() => {});
  await stopCourse();
  let left = leftovers();
  if (left.length) { // one more chance, then force
    await new Promise((r) => setTimeout(r, 3000));
    left = leftovers();
    for (const line of left) try { process.kill(Number(line.split(" ")[0]), "SIGKILL"); } catch { /* gone */ }
  }
  console.log(`      stopped the ${running} processes this run started (course command, JupyterLab, kernels, terminal, browser); ${left.length} left`);
  rmSync(scratch, { recursive: true, force: true });
  for (const [file, content] of saved) {
    const path = join(ROOT, "notebooks", file);
    if (!readFileSync(path).equals(content)) {
      writeFileSync(path, content);
      failures.push(`the run changed notebooks/${file} (put back)`);
    }
  }
  return left;
}

let failed = null;
try {
  const port = await freePort();
  console.log(`browser test: python3 tasks.py course --no-browser --port ${port} (with ${PYTHON})`);
  const url = await step("the course command prints its URL", () => startCourse(port));
  browser = await launch();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(30_000);

  await step("chapter 00 opens from the printed URL", async () => {
    await page.goto(url);
    await until("chapter 00 to open", () => page.locator(".jp-NotebookPanel:visible .jp-Cell").count(), 60_000);
    await until("its title", () => page.locator(".jp-NotebookPanel:visible h1", { hasText: "Welcome and setup" }).count(), 30_000);
  });
  await shot("00-opened");

  const cells = await step("chapter 00: Run All completes with no error", () => runAll("00-welcome.ipynb", 120_000));
  console.log(`      ${cells} code cells ran`);

  await step("chapter 00: the Mermaid diagram renders", async () => {
    const diagram = notebook().locator(".jp-RenderedMermaid:not(.jp-mod-warning)").first();
    await diagram.locator("img, svg").first().waitFor({ state: "attached" });
    await diagram.scrollIntoViewIfNeeded();
    await shot("00-mermaid");
  });

  await step("chapter 00: a plot renders", async () => {
    const plot = notebook().locator(".jp-RenderedImage img").first();
    await plot.waitFor({ state: "attached" });
    await plot.scrollIntoViewIfNeeded();
    await until("the plot's pixels", () => plot.evaluate((img) => img.complete && img.naturalWidth > 100), 10_000);
    await shot("00-plot");
  });

  await step("chapter 02: Run All completes with no error", async () => {
    await openChapter("02-n-plus-one.ipynb", "The N+1 query problem");
    return runAll("02-n-plus-one.ipynb", 180_000);
  });

  await step("chapter 02: the widget renders as sliders and re-measures when moved", async () => {
    const widget = notebook().locator(".jp-OutputArea-output .widget-interact").first();
    await widget.scrollIntoViewIfNeeded();
    const sliders = widget.locator(".widget-slider");
    await until("two sliders", async () => (await sliders.count()) === 2, 10_000);
    const output = widget.locator(".widget-output");
    const before = await until("the first table", async () => {
      const text = await output.innerText();
      return text.includes("baseline") && text;
    }, 30_000);
    await shot("02-widget-before");
    let sawMeasuring = false;
    const readout = widget.locator(".widget-readout").first();
    const n0 = Number((await readout.innerText()).trim());
    await sliders.first().locator(".noUi-handle").focus();
    await page.keyboard.press("ArrowRight"); // one step: N + 10
    await until("the slider to move", async () => Number((await readout.innerText()).trim()) > n0, 5_000, 100);
    await until("a new measurement", async () => {
      const text = await output.innerText();
      if (/measuring N = \d+/.test(text)) sawMeasuring = true;
      return text.includes("baseline") && text !== before;
    }, 60_000, 100);
    console.log(`      N ${n0} → ${(await readout.innerText()).trim()}${sawMeasuring ? ", \"measuring…\" seen" : ""}, table replaced`);
    await shot("02-widget-after");
  });

  await step("a JupyterLab terminal runs `perflab doctor`", async () => {
    await menu("File", "New", "Terminal");
    const terminal = page.locator(".jp-Terminal:visible").first();
    await terminal.waitFor();
    const text = () => terminal.evaluate((t) =>
      (t.querySelector(".xterm-accessibility-tree") ?? t.querySelector(".xterm-rows") ?? t).innerText);
    await until("a shell prompt", async () => /[$#]\s*$/m.test(await text()), 30_000);
    await terminal.click();
    await page.keyboard.type("perflab doctor\n");
    await until("the doctor's report", async () => {
      const t = await text();
      return /OK\s+jupyterlab/.test(t) && /OK\s+dataset/.test(t);
    }, 60_000);
    await shot("terminal-doctor");
  });
} catch (error) {
  failed = error;
  console.error(`FAIL: ${error.message}`);
  await shot("failure");
  if (log) console.error(`--- the course command's output (last 3000 characters):\n${log.slice(-3000)}`);
}
clearTimeout(watchdog);
if (failures.length && !failed) await shot("failure");
const left = await cleanup();
if (left.length) failures.push(`processes of the course were still running after it stopped (killed now):\n  ${left.join("\n  ")}`);
for (const problem of failures) console.error(`FAIL: ${problem}`);
failed ??= failures.length ? new Error(failures[0]) : null;
console.log(`browser test ${failed ? "FAILED" : "passed"} in ${elapsed()} s; screenshots in ${shots}`);
process.exit(failed ? 1 : 0);
