import { Page, expect, test } from "@playwright/test";
import { signUp } from "./accounts";
import { JarvisServer } from "./server";

let server: JarvisServer;
test.beforeAll(async () => { server = await JarvisServer.launch(); });
test.afterAll(async () => { await server?.dispose(); });

const WORDS = Array.from({ length: 60 }, (_, i) => `word${i + 1}`).join(" ");

function watch(page: Page, tag: string) {
  page.on("pageerror", (e) => console.log(`[${tag}] PAGEERROR ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") console.log(`[${tag}] CONSOLE ${m.type()} ${m.text()}`); });
}
async function online(page: Page) {
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
}
async function openApp(page: Page) {
  watch(page, "main");
  await signUp(page.request, server.baseUrl);
  await page.goto(`${server.baseUrl}/app`);
  await online(page);
}
const lastReply = (page: Page) => page.locator('article[data-role="assistant"]').last();
async function send(page: Page, text: string) {
  await page.getByLabel("Message").fill(text);
  await page.getByLabel("Message").press("Enter");
}
async function dump(page: Page, label: string) {
  const arts = await page.locator("article").evaluateAll((els) => els.map((e) => `${e.getAttribute("data-role")}: ${(e as HTMLElement).innerText.replace(/\s+/g, " ").slice(0, 400)}`));
  console.log(`--- ${label} url=${page.url()}\n${arts.join("\n")}`);
}

test("reload during a streaming reply", async ({ page }) => {
  await openApp(page);
  await send(page, "slow one please");
  await expect(lastReply(page)).toContainText("word5");
  await page.reload();
  await online(page);
  await dump(page, "right after reload");
  await expect(lastReply(page).locator(".markdown")).toHaveText(WORDS, { timeout: 20000 });
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
  await dump(page, "after complete");
  await page.waitForTimeout(1500);
  await page.reload();
  await online(page);
  await dump(page, "after second reload");
  await expect(lastReply(page).locator(".markdown")).toHaveText(WORDS);
  await expect(page.locator('article[data-role="assistant"]')).toHaveCount(1);
  await expect(page.locator('article[data-role="user"]')).toHaveCount(1);
});

test("stop then reload keeps marker", async ({ page }) => {
  await openApp(page);
  await send(page, "slow two please");
  await expect(lastReply(page)).toContainText("word5");
  await page.getByRole("button", { name: "Stop" }).click();
  await expect(lastReply(page).getByRole("alert")).toContainText("Stopped.");
  await dump(page, "after stop");
  await page.waitForTimeout(1500);
  await page.reload();
  await online(page);
  await dump(page, "after reload");
  await expect.soft(lastReply(page).getByRole("alert")).toContainText("Stopped.");
  // Send another message after a stop
  await send(page, "after the stop");
  await expect(lastReply(page).locator(".markdown")).toHaveText("Hello! You said: after the stop");
  await dump(page, "after next message");
  await page.waitForTimeout(1500);
  await page.reload();
  await online(page);
  await dump(page, "after next reload");
});

test("switch conversation while reply streams", async ({ page }) => {
  await openApp(page);
  await send(page, "slow three please");
  await expect(lastReply(page)).toContainText("word3");
  const urlA = page.url();
  console.log("urlA", urlA);
  await page.getByRole("button", { name: "New conversation" }).click();
  await page.waitForTimeout(300);
  await dump(page, "new conversation while A streams");
  await send(page, "Hello in B");
  await expect(lastReply(page).locator(".markdown")).toHaveText("Hello! You said: Hello in B");
  await page.waitForTimeout(500);
  await dump(page, "B after reply");
  await expect.soft(page.locator("article")).toHaveCount(2);
  const side = page.getByRole("complementary", { name: "Conversations" });
  console.log("sidebar:", (await side.innerText()).replace(/\s+/g, " "));
  await side.getByText("slow three please").click();
  await page.waitForTimeout(500);
  await dump(page, "back to A");
  await expect.soft(lastReply(page).locator(".markdown")).toHaveText(WORDS, { timeout: 10000 });
  await page.goBack();
  await page.waitForTimeout(800);
  await dump(page, "after Back");
  await page.goBack();
  await page.waitForTimeout(800);
  await dump(page, "after Back x2");
  await page.goForward();
  await page.waitForTimeout(800);
  await dump(page, "after Forward");
});

test("regenerate, stop, reload", async ({ page }) => {
  await openApp(page);
  await send(page, "Answer slowly");
  await expect(lastReply(page).locator(".markdown")).toHaveText(WORDS);
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
  await page.getByRole("button", { name: "Regenerate" }).click();
  await expect(lastReply(page).locator(".markdown")).toContainText("word4");
  await page.getByRole("button", { name: "Stop" }).click();
  await page.waitForTimeout(500);
  await dump(page, "after stop of regen");
  console.log("switcher:", await page.getByTestId("version-switcher").innerText().catch(() => "none"));
  await page.waitForTimeout(1500);
  await page.reload();
  await online(page);
  await dump(page, "after reload");
  console.log("switcher after reload:", await page.getByTestId("version-switcher").innerText().catch(() => "none"));
  await page.getByRole("button", { name: "Previous version" }).click();
  await dump(page, "prev version");
  // regenerate while viewing version 1
  await page.getByRole("button", { name: "Regenerate" }).click();
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible({ timeout: 15000 });
  await page.waitForTimeout(6000);
  await dump(page, "regen from v1");
  console.log("switcher:", await page.getByTestId("version-switcher").innerText().catch(() => "none"));
  await page.reload();
  await online(page);
  await dump(page, "reload");
  console.log("switcher:", await page.getByTestId("version-switcher").innerText().catch(() => "none"));
});

test("two tabs", async ({ page, context }) => {
  await openApp(page);
  await send(page, "Hello from tab one");
  await expect(lastReply(page).locator(".markdown")).toHaveText("Hello! You said: Hello from tab one");
  const url = page.url();
  const tab2 = await context.newPage();
  watch(tab2, "tab2");
  await tab2.goto(url);
  await online(tab2);
  await dump(tab2, "tab2 opened");
  await send(tab2, "slow from tab two");
  await expect(lastReply(tab2)).toContainText("word3");
  await page.waitForTimeout(2000);
  await dump(page, "tab1 while tab2 streams");
  await expect(lastReply(tab2).locator(".markdown")).toHaveText(WORDS, { timeout: 15000 });
  await page.waitForTimeout(1000);
  await dump(page, "tab1 after tab2 done");
  // send in tab1 now (its view may be stale)
  await send(page, "tab one again");
  await page.waitForTimeout(3000);
  await dump(page, "tab1 after sending again");
  await dump(tab2, "tab2 after tab1 sends");
  await tab2.reload();
  await online(tab2);
  await dump(tab2, "tab2 reload");
});
