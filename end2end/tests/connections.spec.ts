import { ChildProcess, spawn } from "node:child_process";
import { Page, expect, test } from "@playwright/test";
import { signUp } from "./accounts";
import { holdWasm, hydrated } from "./hydration";
import { JarvisServer } from "./server";

// Settings → Connections: a personal access token is shown once and then only listed, until
// revoked; an MCP server added by its URL lists its tools, and its tool is offered to the model,
// called in a run and shown as a card naming the server.

const python = process.env.JARVIS_TEST_PYTHON ?? "../target/pyenv/bin/python";
const fixture = "../server/tests/fixtures/mcp_connector.py";

let server: JarvisServer;
let notes: { url: string; process: ChildProcess } | null = null;

/** The FastMCP notes server of the connector tests; it prints `ready <url>` once listening. */
async function startNotesServer(): Promise<{ url: string; process: ChildProcess }> {
  const child = spawn(python, [fixture, "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise<string>((resolve, reject) => {
    let seen = "";
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`mcp_connector.py exited with ${code}`)));
    child.stdout?.on("data", (chunk) => {
      seen += String(chunk);
      const ready = seen.match(/^ready (\S+)$/m);
      if (ready) resolve(ready[1]);
    });
  });
  return { url, process: child };
}

test.beforeAll(async () => {
  // The notes server listens on loopback, which Jarvis refuses to reach unless told otherwise.
  server = await JarvisServer.launch({ env: { JARVIS_MCP_ALLOW_PRIVATE: "true" } });
  notes = await startNotesServer();
});

test.afterAll(async () => {
  notes?.process.kill("SIGTERM");
  await server?.dispose();
});

async function openSettings(page: Page) {
  await signUp(page.request, server.baseUrl);
  await page.goto(`${server.baseUrl}/settings`);
  await expect(page.getByRole("heading", { name: "Connections", exact: true })).toBeVisible();
}

test("a new token is shown once, then only listed, and revoking it removes it", async ({ page }) => {
  await openSettings(page);
  await expect(page.getByTestId("mcp-url")).toHaveText(`${server.baseUrl}/mcp`);
  await expect(page.getByText("No tokens yet.")).toBeVisible();

  await page.getByLabel("Name", { exact: true }).fill("Claude Code");
  await page.getByLabel("Access", { exact: true }).selectOption({ label: "Read and write" });
  await expect(page.getByLabel("Expires", { exact: true })).toHaveValue("30");
  await page.getByRole("button", { name: "Create token" }).click();

  const shown = page.getByTestId("new-token");
  await expect(shown).toContainText("it will not be shown again");
  const secret = await shown.getByLabel("New token").inputValue();
  expect(secret).toMatch(/^jvs_[A-Za-z0-9_-]{43}$/);
  await expect(shown).toContainText(`claude mcp add --transport http jarvis ${server.baseUrl}/mcp`);
  await shown.getByRole("button", { name: "Copy" }).click();
  await expect(shown.getByText("Copied.")).toBeVisible();

  const tokens = page.getByRole("list", { name: "Personal access tokens" });
  await expect(tokens.getByRole("listitem")).toHaveCount(1);
  await expect(tokens).toContainText("Claude Code");
  await expect(tokens).toContainText("Read and write");
  await expect(tokens).toContainText("never used");

  // Shown once: after a reload the token is listed, and its secret is nowhere in the page.
  await page.reload();
  await expect(tokens).toContainText("Claude Code");
  await expect(page.getByTestId("new-token")).toHaveCount(0);
  expect(await page.content()).not.toContain(secret);

  page.once("dialog", (dialog) => dialog.accept());
  await page.getByRole("button", { name: "Revoke Claude Code" }).click();
  await expect(page.getByText("No tokens yet.")).toBeVisible();
  await page.reload();
  await expect(page.getByText("No tokens yet.")).toBeVisible();
});

test("what is typed into the forms before the page hydrates is kept and sent as typed", async ({ page }) => {
  await signUp(page.request, server.baseUrl);
  const wasm = await holdWasm(page);
  await page.goto(`${server.baseUrl}/settings`, { waitUntil: "domcontentloaded" });
  await wasm.requested;
  await page.getByLabel("Name", { exact: true }).fill("Typed early");
  await page.getByLabel("Access", { exact: true }).selectOption({ label: "Read and write" });
  await page.getByLabel("Expires", { exact: true }).selectOption("90");
  await page.getByLabel("Server URL").fill("http://127.0.0.1:9/mcp");
  wasm.release();
  await hydrated(page, wasm);

  await expect(page.getByLabel("Name", { exact: true })).toHaveValue("Typed early");
  await expect(page.getByLabel("Access", { exact: true })).toHaveValue("write");
  await expect(page.getByLabel("Expires", { exact: true })).toHaveValue("90");
  await expect(page.getByLabel("Server URL")).toHaveValue("http://127.0.0.1:9/mcp");

  await page.getByRole("button", { name: "Create token" }).click();
  await expect(page.getByTestId("new-token")).toBeVisible();
  const tokens = page.getByRole("list", { name: "Personal access tokens" });
  await expect(tokens).toContainText("Typed early");
  await expect(tokens).toContainText("Read and write");
  await expect(page.getByLabel("Name", { exact: true })).toHaveValue("");

  // The server URL typed early is the one sent: unreachable, it is refused in a sentence.
  await page.getByRole("button", { name: "Add server" }).click();
  const refusal = page.getByRole("group", { name: "MCP servers" }).getByRole("alert");
  await expect(refusal).toBeVisible();
  await expect(refusal).toContainText("127.0.0.1:9");
});

test("an MCP server's tools are listed, offered to the model and shown as a card naming the server", async ({ page }) => {
  await openSettings(page);
  if (!notes) throw new Error("the notes server did not start");

  // One that cannot be reached says why, under the form.
  await page.getByLabel("Server URL").fill("http://127.0.0.1:9/mcp");
  await page.getByRole("button", { name: "Add server" }).click();
  const refusal = page.getByRole("group", { name: "MCP servers" }).getByRole("alert");
  await expect(refusal).toBeVisible();
  expect((await refusal.innerText()).trim()).toMatch(/\.$/);

  await page.getByLabel("Server URL").fill(notes.url);
  await page.getByRole("button", { name: "Add server" }).click();
  const servers = page.getByRole("list", { name: "MCP servers" });
  const row = servers.getByRole("listitem").filter({ hasText: "notes_server" });
  await expect(row).toBeVisible();
  await expect(row).toContainText(notes.url);
  await expect(refusal).toHaveCount(0);
  await expect(row.getByLabel("On", { exact: true })).toBeChecked();
  for (const tool of ["add_note", "always_fails", "slow_note"]) {
    await expect(row.getByLabel(tool, { exact: true })).toBeChecked();
  }
  await expect(row.getByText("Adds a note and says what was noted.")).toBeVisible();

  // A tool switched off stays off.
  const saved = page.waitForResponse((response) => response.url().includes("/api/connections_set_connector_tool"));
  await row.getByLabel("always_fails", { exact: true }).uncheck();
  expect((await saved).status()).toBe(200);
  await page.reload();
  await expect(row.getByLabel("always_fails", { exact: true })).not.toBeChecked();
  await expect(row.getByLabel("add_note", { exact: true })).toBeChecked();

  await page.goto(`${server.baseUrl}/app`);
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
  await page.getByLabel("Message").fill("Use the connector to add a note");
  await page.getByRole("button", { name: "Send", exact: true }).click();

  const reply = page.locator('article[data-role="assistant"]').last();
  await expect(reply).toContainText("The connector said: Noted: Use the connector to add a note");
  const card = page.getByTestId("tool-card");
  await expect(card).toContainText("Add note · notes_server · done");
  await expect(card).toContainText("notes_server__add_note");
});
