// The small controls around spoken replies and replies: Stop silences the reply playing, the
// transcript starts collapsed, Esc closes the voice settings (focus back on their button),
// "Jarvis mode" is explained and remembered on reload, and "Copy reply" says "Copied".
import { Browser, Page, chromium, expect, test } from "@playwright/test";
import { signUp } from "./accounts";
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
  // Hydrated and connected (the server-rendered page already has the button, editable box and
  // aria-expanded="false"; a click before hydration would do nothing).
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
  await expect(page.getByTestId("voice-settings-button")).toHaveAttribute("aria-expanded", "false");
}

function anyAudioPlaying(page: Page): Promise<boolean> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLAudioElement>('[data-testid="voice-audio"]')).some((a) => !a.paused),
  );
}

test("Stop silences the spoken reply, whose transcript starts collapsed", async () => {
  const browser: Browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"],
  });
  try {
    const page = await browser.newPage();
    await openApp(page);
    await page.getByLabel("Message").fill("Please speak to me");
    await page.getByLabel("Message").press("Enter");
    await expect.poll(() => anyAudioPlaying(page), { timeout: 15_000 }).toBe(true);
    await page.getByRole("button", { name: "Stop" }).click();
    // Paused in the middle of a clip, not played out to the end.
    await expect
      .poll(() =>
        page.evaluate(() => {
          const audios = Array.from(document.querySelectorAll<HTMLAudioElement>('[data-testid="voice-audio"]'));
          return audios.every((a) => a.paused) && audios.some((a) => a.currentTime > 0 && !a.ended);
        }),
      )
      .toBe(true);
    await expect(page.getByTestId("voice-toggle")).toHaveAttribute("aria-label", "Play");

    const transcript = page.getByTestId("voice-transcript-details");
    await expect(transcript).not.toHaveAttribute("open", /.*/);
    await expect(page.getByTestId("voice-transcript").first()).toBeHidden();
    await transcript.locator("summary").click();
    await expect(page.getByTestId("voice-transcript").first()).toBeVisible();
  } finally {
    await browser.close();
  }
});

test("Esc closes the voice settings and gives the focus back to their button", async ({ page }) => {
  await openApp(page);
  const button = page.getByTestId("voice-settings-button");
  await button.click();
  await expect(page.getByTestId("voice-settings")).toBeVisible();
  await page.getByTestId("voice-enabled").focus();
  await page.keyboard.press("Escape");
  await expect(page.getByTestId("voice-settings")).toHaveCount(0);
  await expect(button).toHaveAttribute("aria-expanded", "false");
  await expect(button).toBeFocused();
});

test("Jarvis mode says what it does and is remembered on reload", async ({ page }) => {
  await openApp(page);
  const toggle = page.getByLabel("Jarvis mode");
  await expect(toggle).toHaveAccessibleDescription(/Hides the tool steps/);
  await expect(toggle).not.toBeChecked();
  await toggle.check();
  await page.reload();
  await expect(page.getByLabel("Jarvis mode")).toBeChecked();
  await page.getByLabel("Jarvis mode").uncheck();
  await page.reload();
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
  await expect(page.getByLabel("Jarvis mode")).not.toBeChecked();
});

test("Copy reply copies the reply and says so", async ({ page, context }) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.baseUrl });
  await openApp(page);
  await page.getByLabel("Message").fill("Hi Jarvis, how are you today?");
  await page.getByLabel("Message").press("Enter");
  const reply = page.locator('article[data-role="assistant"]').last();
  await expect(reply).toContainText("Hello!");
  await expect(page.getByRole("button", { name: "Stop" })).toHaveCount(0);
  await reply.getByTestId("copy-reply").click();
  await expect(reply.getByTestId("copy-reply")).toHaveText("Copied");
  expect(await page.evaluate(() => navigator.clipboard.readText())).toContain("Hello!");
});
