import { expect, test } from "@playwright/test";
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

test("the app hydrates and shows Online once its ping is answered", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await signUp(page.request, server.baseUrl);

  await page.goto(`${server.baseUrl}/app`);

  await expect(page.getByRole("status")).toHaveText("Online");
  await expect(page.getByRole("status")).toHaveAttribute("data-state", "connected");
  expect(errors).toEqual([]);
});

test("a message typed while the app loads is kept by hydration and can be sent", async ({ page }) => {
  await signUp(page.request, server.baseUrl);
  const wasm = await holdWasm(page);
  await page.goto(`${server.baseUrl}/app`, { waitUntil: "domcontentloaded" });
  await wasm.requested;
  await page.getByLabel("Message").fill("Typed before the app had loaded");
  wasm.release();
  await hydrated(page, wasm);

  await expect(page.getByRole("status")).toHaveText("Online");
  await expect(page.getByLabel("Message")).toHaveValue("Typed before the app had loaded");
  await page.getByRole("button", { name: "Send", exact: true }).click();
  await expect(page.locator('article[data-role="user"]').last()).toContainText("Typed before the app had loaded");
  await expect(page.getByLabel("Message")).toHaveValue("");
});

test("after the server restarts, the page reconnects by itself", async ({ page }) => {
  await signUp(page.request, server.baseUrl);
  await page.goto(`${server.baseUrl}/app`);
  await expect(page.getByRole("status")).toHaveText("Online");

  const exitCode = await server.stop();
  expect(exitCode, "the server stops gracefully on SIGTERM").toBe(0);
  await expect(page.getByRole("status")).toHaveText("Offline — reconnecting…");

  await server.start();
  await expect(page.getByRole("status")).toHaveText("Online");
});

test("Settings and Plan leave the app by a whole page load, so a deploy in between cannot strand it", async ({ page }) => {
  await signUp(page.request, server.baseUrl);
  await page.goto(`${server.baseUrl}/app`);
  await expect(page.getByRole("status")).toHaveText("Online");

  for (const [link, path, heading] of [
    ["Settings", "/settings", "Settings"],
    ["Plan", "/billing", "Billing"],
  ]) {
    // A mark on this document: a page loaded afresh has none.
    await page.evaluate(() => ((window as unknown as { appPage?: boolean }).appPage = true));
    await page.getByRole("link", { name: link, exact: true }).click();
    await expect(page).toHaveURL(`${server.baseUrl}${path}`);
    await expect(page.getByRole("heading", { level: 1 })).toContainText(heading);
    expect(await page.evaluate(() => (window as unknown as { appPage?: boolean }).appPage)).toBeUndefined();
    await page.goBack();
    await expect(page.getByRole("status")).toHaveText("Online");
  }
});
