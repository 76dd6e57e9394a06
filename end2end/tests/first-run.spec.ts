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

test("a new user's empty app explains Jarvis and an example prompt sends at a click", async ({ page }) => {
  await signUp(page.request, server.baseUrl);
  await page.goto(`${server.baseUrl}/app`);
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();

  const guide = page.getByTestId("first-run");
  await expect(guide.getByRole("heading", { name: "Ask Jarvis anything." })).toBeVisible();
  await expect(guide).toContainText("documents and code");
  await expect(guide.getByTestId("example-prompt")).toHaveCount(3);
  // No developer words on the first screen.
  await expect(page.locator("body")).not.toContainText("Connected");

  const example = guide.getByRole("button", { name: /Write some code/ });
  const prompt = (await example.locator("span").nth(1).textContent())!.trim();
  await example.click();

  // The prompt is sent as the user's message and answered; the guide gives way to the chat.
  await expect(page.locator('article[data-role="user"]').first()).toContainText(prompt);
  // The fake model saves a document when asked to: the example reaches it as sent.
  await expect(page.locator('article[data-role="assistant"]').last()).toContainText("Saved");
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
  await expect(guide).toHaveCount(0);

  // A new chat shows the guide again.
  await page.getByRole("button", { name: "New conversation" }).click();
  await expect(page.getByTestId("first-run")).toBeVisible();
});

test("on a phone the guide opens at its top, its heading in view", async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  await signUp(page.request, server.baseUrl);
  await page.goto(`${server.baseUrl}/app`);
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
  const heading = page.getByTestId("first-run").getByRole("heading", { name: "Ask Jarvis anything." });
  await expect(heading).toBeInViewport();
  const messages = page.getByTestId("messages");
  expect(await messages.evaluate((element) => element.scrollTop)).toBe(0);
  const [list, title] = [await messages.boundingBox(), await heading.boundingBox()];
  expect(title!.y).toBeGreaterThanOrEqual(list!.y);
  await context.close();
});
