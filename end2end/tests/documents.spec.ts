import { Page, expect, test } from "@playwright/test";
import { readFileSync } from "node:fs";
import { signUp } from "./accounts";
import { holdWasm, hydrated } from "./hydration";
import { JarvisServer } from "./server";

let server: JarvisServer;

test.beforeAll(async () => {
  server = await JarvisServer.launch();
});

test.afterAll(async () => {
  await server?.dispose();
});

async function openApp(page: Page) {
  await signUp(page.request, server.baseUrl);
  await page.goto(`${server.baseUrl}/app`);
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
}

async function send(page: Page, text: string) {
  await page.getByLabel("Message").fill(text);
  await page.getByLabel("Message").press("Enter");
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
}

function panel(page: Page) {
  return page.getByTestId("documents-panel");
}

test("the agent saves a document, the user edits it, a stale agent update is refused and redone, history, download, upload and search", async ({ page }) => {
  await openApp(page);

  // The fake model calls save_document: a card in the chat, the document in the panel at once.
  await send(page, "Please save a note about our trip");
  await expect(page.locator('article[data-role="assistant"]').last()).toContainText("Saved “Trip notes”");
  const card = page.getByTestId("document-card");
  await expect(card).toContainText("Trip notes");
  await expect(card).toContainText("Saved · version 1");
  await expect(panel(page).getByRole("region", { name: "Markdown" })).toContainText("Trip notes");

  // It opens from the panel and shows the rendered Markdown.
  await panel(page).getByTestId("document-row").filter({ hasText: "Trip notes" }).click();
  await expect(page.getByTestId("document-title")).toHaveText("Trip notes");
  // The row clicked went away with the list: the focus is on the document's title.
  await expect(page.getByTestId("document-title")).toBeFocused();
  await expect(page.getByTestId("document-view").locator("h1")).toHaveText("Trip notes");
  await expect(page.getByTestId("document-view")).toContainText("Pack the tent");

  // The user edits and saves: version 2.
  await page.getByRole("tab", { name: "Edit" }).click();
  const editor = page.getByLabel("Document text");
  await expect(editor).toHaveValue("# Trip notes\n\n- Pack the tent\n- Buy snacks\n");
  await expect(page.getByTestId("line-numbers")).toContainText("5");
  await editor.fill("# Trip notes\n\n- Pack the tent\n- Buy snacks\n- Call grandma\n");
  await page.getByLabel("Preview").check();
  await expect(page.getByTestId("markdown-preview")).toContainText("Call grandma");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(panel(page).getByRole("status")).toContainText("Saved as version 2.");
  await expect(page.getByTestId("document-meta")).toContainText("version 2");
  // Save went with the editor: the focus is on the View tab, which shows what was saved.
  await expect(page.getByRole("tab", { name: "View" })).toBeFocused();

  // The fake model updates on version 1: refused, it reads again, and updates version 2.
  await send(page, "Update the note: add a map");
  const reply = page.locator('article[data-role="assistant"]').last();
  await expect(reply).toContainText("Updated it: now at version 3.");
  await page.getByLabel("Jarvis mode").uncheck();
  const tools = reply.getByTestId("tool-card");
  await expect(tools).toHaveCount(3);
  await expect(tools.nth(0)).toContainText("Could not update a document");
  await expect(tools.nth(1)).toContainText("Read a document");
  await expect(tools.nth(2)).toContainText("Updated a document");
  // The open document followed without a reload, and the user's line survived.
  await expect(page.getByTestId("document-meta")).toContainText("version 3");
  await expect(page.getByTestId("document-view")).toContainText("Call grandma");
  await expect(page.getByTestId("document-view")).toContainText("Bring a map");

  // History: three versions, by Jarvis, you, Jarvis; the diff from 2 to 3 adds the map.
  await page.getByRole("tab", { name: "History" }).click();
  const rows = page.getByTestId("version-row");
  await expect(rows).toHaveCount(3);
  await expect(rows.nth(0)).toContainText("v3");
  await expect(rows.nth(0)).toContainText("Jarvis");
  await expect(rows.nth(1)).toContainText("You");
  const diff = page.getByTestId("diff");
  await expect(diff.locator('[data-change="added"]')).toHaveText(/Bring a map/);
  await page.getByLabel("From version").selectOption("1");
  await expect(diff.locator('[data-change="added"]')).toHaveCount(2);

  // Download: the file with its name and the current content.
  const downloading = page.waitForEvent("download");
  await page.getByRole("link", { name: "Download" }).first().click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe("Trip notes.md");
  const saved = readFileSync(await download.path());
  expect(saved.toString()).toBe("# Trip notes\n\n- Pack the tent\n- Buy snacks\n- Call grandma\n- Bring a map\n");

  // The first reply's card opens what that reply saved: version 1, read-only, one click from
  // the latest.
  await page.getByTestId("document-card").first().click();
  const earlier = page.getByTestId("earlier-version");
  await expect(earlier).toContainText("This is version 1");
  await expect(earlier).toContainText("The document is now at version 3.");
  await expect(page.getByTestId("document-title")).toBeFocused();
  await expect(page.getByTestId("document-view")).toContainText("Pack the tent");
  await expect(page.getByTestId("document-view")).not.toContainText("Call grandma");
  await expect(page.getByRole("tab")).toHaveText(["View", "History"]);
  await earlier.getByRole("button", { name: "Show the latest version" }).click();
  await expect(page.getByTestId("earlier-version")).toHaveCount(0);
  await expect(page.getByTestId("document-view")).toContainText("Bring a map");
  await expect(page.getByRole("tab")).toHaveText(["View", "Edit", "History"]);

  // Upload a text file and find it by full-text search.
  await page.getByRole("button", { name: "← Documents" }).click();
  // Back in the list, the focus is on the document's row.
  await expect(panel(page).getByTestId("document-row").filter({ hasText: "Trip notes" })).toBeFocused();
  await page.getByTestId("upload-input").setInputFiles({
    name: "packing-list.txt",
    mimeType: "text/plain",
    buffer: Buffer.from("Remember the flashlight and the spare batteries."),
  });
  await expect(panel(page).getByRole("status")).toContainText("1 file uploaded.");
  await page.getByLabel("Search documents").fill("flashlight");
  const hit = panel(page).getByTestId("document-row");
  await expect(hit).toHaveCount(1);
  await expect(hit).toContainText("packing-list");
  await expect(hit.getByTestId("snippet").locator("mark")).toHaveText("flashlight");
});

test("a refused rename says why, and the rename that then succeeds takes the refusal away", async ({ page }) => {
  await openApp(page);
  await send(page, "Please save a note about our trip");
  await panel(page).getByTestId("document-row").filter({ hasText: "Trip notes" }).click();
  await expect(page.getByTestId("document-title")).toHaveText("Trip notes");

  // The View/Edit/History tabs: the arrows move between them and show the tab reached.
  await page.getByRole("tab", { name: "View" }).focus();
  await page.keyboard.press("ArrowRight");
  await expect(page.getByRole("tab", { name: "Edit" })).toBeFocused();
  await expect(page.getByRole("tab", { name: "Edit" })).toHaveAttribute("aria-selected", "true");
  await expect(page.getByRole("tabpanel", { name: "Edit" }).getByLabel("Document text")).toBeVisible();
  await page.keyboard.press("End");
  await expect(page.getByRole("tab", { name: "History" })).toBeFocused();
  await page.keyboard.press("ArrowRight");
  await expect(page.getByRole("tab", { name: "View" })).toBeFocused();
  await expect(page.getByRole("tabpanel", { name: "View" })).toContainText("Pack the tent");

  const answers = ["t".repeat(300), "Packing list"];
  page.on("dialog", (dialog) => void dialog.accept(answers.shift()));
  await page.getByRole("button", { name: "Rename", exact: true }).click();
  const refusal = panel(page).getByRole("alert").filter({ hasText: "Titles are limited to 200 characters." });
  await expect(refusal).toBeVisible();
  await page.getByRole("button", { name: "Rename", exact: true }).click();
  await expect(page.getByTestId("document-title")).toHaveText("Packing list");
  await expect(refusal).toHaveCount(0);
  // The pane is drawn again with its new title, which has the focus (not the page's body).
  await expect(page.getByTestId("document-title")).toBeFocused();

  // Upload, reached with Tab (its file input is hidden), shows that it has the focus.
  await page.getByRole("button", { name: "← Documents" }).click();
  await page.getByRole("link", { name: "Download all" }).focus();
  await page.keyboard.press("Tab");
  await expect(page.getByTestId("upload-input")).toBeFocused();
  const ring = await panel(page).locator("label", { has: page.getByTestId("upload-input") }).evaluate(
    (label) => getComputedStyle(label).boxShadow,
  );
  expect(ring).not.toBe("none");
});

test("a deleted document leaves the focus on the library's search, and its card in the chat says it is gone", async ({ page }) => {
  await openApp(page);
  await send(page, "Please save a note about our trip");
  await panel(page).getByTestId("document-row").filter({ hasText: "Trip notes" }).click();
  await expect(page.getByTestId("document-title")).toHaveText("Trip notes");
  page.on("dialog", (dialog) => void dialog.accept());
  await page.getByRole("button", { name: "Delete", exact: true }).click();
  await expect(panel(page).getByRole("status")).toContainText("Document deleted.");
  await expect(page.getByLabel("Search documents")).toBeFocused();

  await page.getByTestId("document-card").click();
  await expect(panel(page).getByRole("alert")).toContainText("This document no longer exists: it was deleted.");
});

test("a document full of XSS payloads renders without running any of them", async ({ page }) => {
  const dialogs: string[] = [];
  const errors: string[] = [];
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  await openApp(page);

  const payloads = [
    "# Notes",
    "<script>alert('script')</script>",
    "<img src=x onerror=\"alert('img')\">",
    "<svg onload=\"alert('svg')\"></svg>",
    "[click me](javascript:alert('link'))",
    "![pic](javascript:alert('image'))",
    "<iframe src=\"javascript:alert('iframe')\"></iframe>",
    "<details open ontoggle=\"alert('details')\">x</details>",
    "```html\n</code></pre><script>alert('fence')</script>\n```",
  ].join("\n\n");
  await page.getByTestId("upload-input").setInputFiles({
    name: "evil.md",
    mimeType: "text/markdown",
    buffer: Buffer.from(payloads),
  });
  await expect(panel(page).getByRole("status")).toContainText("1 file uploaded.");
  await panel(page).getByTestId("document-row").filter({ hasText: "evil" }).click();
  const view = page.getByTestId("document-view");
  await expect(view.locator("h1")).toHaveText("Notes");
  await expect(view).toContainText("<script>alert('script')</script>");
  await expect(view.locator("script, iframe, svg, details, [onerror], [onload], [ontoggle]")).toHaveCount(0);
  await expect(view.locator('a[href^="javascript"], img[src^="javascript"]')).toHaveCount(0);
  await view.getByText("click me").click();
  // Open the same payloads as an HTML document: shown as source, not rendered.
  await page.getByRole("button", { name: "← Documents" }).click();
  await page.getByTestId("upload-input").setInputFiles({
    name: "evil.html",
    mimeType: "text/html",
    buffer: Buffer.from("<html><body><script>alert('html')</script><img src=x onerror=alert(1)></body></html>"),
  });
  await panel(page).getByTestId("document-row").filter({ hasText: "evil" }).filter({ hasText: "HTML" }).click();
  await expect(page.getByTestId("document-view")).toContainText("<script>alert('html')</script>");
  await expect(page.getByTestId("document-view").locator("script, img")).toHaveCount(0);
  await page.waitForTimeout(300);
  expect(dialogs).toEqual([]);
  expect(errors.filter((e) => /alert|xss/i.test(e))).toEqual([]);
});

test("on a phone the panels switch, and a picture upload shows in the viewer", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 800 });
  await openApp(page);
  await expect(page.getByLabel("Message")).toBeVisible();
  await expect(panel(page)).toBeHidden();
  await page.getByRole("tab", { name: "Documents" }).click();
  await expect(panel(page)).toBeVisible();
  await expect(page.getByLabel("Message")).toBeHidden();

  // A 1×1 PNG named .txt: its content decides, so it is a picture.
  const png = Buffer.from(
    "89504E470D0A1A0A0000000D49484452000000010000000108060000001F15C4890000000D49444154789C6300010000050001" +
      "0D0A2DB40000000049454E44AE426082",
    "hex",
  );
  await page.getByTestId("upload-input").setInputFiles({ name: "not-really.txt", mimeType: "text/plain", buffer: png });
  await expect(panel(page).getByRole("status")).toContainText("1 file uploaded.");
  await panel(page).getByRole("region", { name: "Files" }).getByRole("button").first().click();
  const image = page.getByTestId("file-image");
  await expect(image).toBeVisible();
  expect(await image.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(1);

  await page.getByRole("tab", { name: "Chat" }).click();
  await expect(page.getByLabel("Message")).toBeVisible();
});

test("a library search typed while the app loads is kept and run once it has loaded", async ({ page }) => {
  await openApp(page);
  for (const [name, text] of [
    ["packing-list.txt", "Remember the flashlight and the spare batteries."],
    ["recipes.txt", "Slow-cooked beans with garlic."],
  ]) {
    await page.getByTestId("upload-input").setInputFiles({ name, mimeType: "text/plain", buffer: Buffer.from(text) });
    await expect(panel(page).getByRole("status")).toContainText("1 file uploaded.");
  }
  await expect(panel(page).getByTestId("document-row")).toHaveCount(2);

  const wasm = await holdWasm(page);
  await page.reload({ waitUntil: "domcontentloaded" });
  await wasm.requested;
  await page.getByLabel("Search documents").fill("flashlight");
  wasm.release();
  await hydrated(page, wasm);

  await expect(page.getByLabel("Search documents")).toHaveValue("flashlight");
  const hit = panel(page).getByTestId("document-row");
  await expect(hit).toHaveCount(1);
  await expect(hit).toContainText("packing-list");
});
