import { expect, test } from "@playwright/test";
import { signUp } from "./accounts";
import { JarvisServer } from "./server";

let server: JarvisServer;

test.beforeAll(async () => {
  server = await JarvisServer.launch();
});

test.afterAll(async () => {
  await server?.dispose();
});

test("a shared link opens in a fresh browser with no account, and Stop sharing ends it", async ({ page, browser }) => {
  await signUp(page.request, server.baseUrl);
  await page.goto(`${server.baseUrl}/app`);
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
  await page.getByLabel("Message").fill("Hi Jarvis, share this");
  await page.getByLabel("Message").press("Enter");
  await expect(page.locator('article[data-role="assistant"]').last()).toContainText("You said: Hi Jarvis, share this");
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();

  await page.getByRole("button", { name: "Share", exact: true }).click();
  const dialog = page.getByRole("dialog", { name: "Share conversation" });
  const link = dialog.getByLabel("Link");
  await expect(link).toHaveValue(/\/share\/[A-Za-z0-9_-]{43}$/);
  const url = await link.inputValue();
  // The dialog has the focus: Esc closes it.
  await page.keyboard.press("Escape");
  await expect(dialog).toHaveCount(0);
  await page.getByRole("button", { name: "Share", exact: true }).click();
  await dialog.getByRole("button", { name: "Copy link" }).click();
  await expect(dialog.getByRole("status")).toHaveText("Link copied.");
  const second = await dialog.getByLabel("Link").inputValue();
  expect(second).not.toBe(url);

  // A message sent after sharing is not in the link.
  await dialog.getByRole("button", { name: "Close" }).click();
  await page.getByLabel("Message").fill("A later message");
  await page.getByLabel("Message").press("Enter");
  await expect(page.locator('article[data-role="user"]').last()).toHaveText("A later message");

  const stranger = await browser.newContext();
  const reader = await stranger.newPage();
  const response = await reader.goto(url);
  expect(response?.status()).toBe(200);
  expect(response?.headers()["x-robots-tag"]).toBe("noindex");
  await expect(reader.locator('meta[name="robots"]')).toHaveAttribute("content", "noindex");
  await expect(reader.locator('article[data-role="user"]')).toHaveText("Hi Jarvis, share this");
  await expect(reader.locator('article[data-role="assistant"]')).toContainText("You said: Hi Jarvis, share this");
  await expect(reader.getByText("A later message")).toHaveCount(0);
  // Who said what is written beside each message, in the order they were said.
  await expect(reader.getByRole("heading", { level: 2 })).toHaveText(["User", "Jarvis"]);

  await page.getByRole("button", { name: "Share", exact: true }).click();
  await dialog.getByRole("button", { name: "Stop sharing" }).click();
  await expect(dialog.getByRole("status")).toContainText("Sharing stopped");

  const again = await reader.goto(url);
  expect(again?.status()).toBe(404);
  await expect(reader.getByRole("heading", { name: "Page not found" })).toBeVisible();
  await stranger.close();
});

test("Export downloads the conversation as Markdown", async ({ page }) => {
  await signUp(page.request, server.baseUrl);
  await page.goto(`${server.baseUrl}/app`);
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
  await page.getByLabel("Message").fill("Export me");
  await page.getByLabel("Message").press("Enter");
  await expect(page.locator('article[data-role="assistant"]').last()).toContainText("You said: Export me");
  // The reply is shown live before its group commit stores it: a reload shows only what is stored.
  await expect(async () => {
    await page.reload();
    await expect(page.locator('article[data-role="assistant"]').last()).toContainText("You said: Export me", { timeout: 1000 });
  }).toPass({ timeout: 15_000 });

  const download = page.waitForEvent("download");
  await page.getByRole("link", { name: "Export" }).click();
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/^conversation-.*\.md$/);
  const text = await (await file.createReadStream()).toArray();
  const markdown = Buffer.concat(text).toString("utf8");
  expect(markdown).toContain("## You\n\nExport me");
  expect(markdown).toContain("## Jarvis\n\nHello! You said: Export me");
});

test("the Share dialog keeps the keyboard inside it and gives the focus back to Share when it closes", async ({ page }) => {
  await signUp(page.request, server.baseUrl);
  await page.goto(`${server.baseUrl}/app`);
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
  await page.getByLabel("Message").fill("Hi Jarvis, share this by keyboard");
  await page.getByLabel("Message").press("Enter");
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();

  const share = page.getByRole("button", { name: "Share", exact: true });
  await share.focus();
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: "Share conversation" });
  await expect(dialog.getByLabel("Link")).toHaveValue(/\/share\//);

  // However often Tab or Shift+Tab is pressed, the focus stays in the dialog.
  const inside = () => page.evaluate(() => !!document.activeElement?.closest('[role="dialog"]'));
  for (let press = 0; press < 7; press++) {
    await page.keyboard.press("Tab");
    expect(await inside(), `after Tab ${press + 1}`).toBe(true);
  }
  for (let press = 0; press < 7; press++) {
    await page.keyboard.press("Shift+Tab");
    expect(await inside(), `after Shift+Tab ${press + 1}`).toBe(true);
  }
  await page.keyboard.press("Escape");
  await expect(dialog).toHaveCount(0);
  await expect(share).toBeFocused();

  // Closed with its Close button, the same.
  await share.click();
  await dialog.getByRole("button", { name: "Close" }).click();
  await expect(dialog).toHaveCount(0);
  await expect(share).toBeFocused();
});

test("a shared conversation with long unbroken text reads on a phone, nothing off the screen", async ({ page, browser }) => {
  await signUp(page.request, server.baseUrl);
  await page.goto(`${server.baseUrl}/app`);
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
  const url = `https://example.com/${"a-very-long-path-segment".repeat(14)}`;
  await page.getByLabel("Message").fill(`Please look at ${url}`);
  await page.getByLabel("Message").press("Enter");
  await expect(page.locator('article[data-role="assistant"]').last()).toContainText("You said: Please look at");
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
  await page.getByRole("button", { name: "Share", exact: true }).click();
  const link = await page.getByRole("dialog", { name: "Share conversation" }).getByLabel("Link").inputValue();

  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const reader = await phone.newPage();
  await reader.goto(link);
  await expect(reader.locator('article[data-role="user"]')).toContainText("Please look at");
  expect(await reader.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  const question = (await reader.locator('article[data-role="user"]').boundingBox())!;
  expect(question.x).toBeGreaterThanOrEqual(0);
  expect(question.x + question.width).toBeLessThanOrEqual(390);
  await phone.close();
});
