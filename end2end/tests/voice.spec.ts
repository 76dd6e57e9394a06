// Spoken replies in Chromium: the fake model's reply is spoken clip by clip while it streams,
// the audio really plays (its currentTime advances), seeking moves through the reply, reloading
// never plays by itself, and where autoplay is blocked the page offers a "Play" button.
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

const LAST_WORDS = "the fourth sentence ends the reply.";

async function openApp(page: Page) {
  await signUp(page.request, server.baseUrl);
  await page.goto(`${server.baseUrl}/app`);
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
}

async function ask(page: Page, text: string) {
  await page.getByLabel("Message").fill(text);
  await page.getByLabel("Message").press("Enter");
}

/** Whether some clip of the page is playing and has got past `seconds`. */
function playingPast(page: Page, seconds: number): Promise<boolean> {
  return page.evaluate(
    (s) =>
      Array.from(document.querySelectorAll<HTMLAudioElement>('[data-testid="voice-audio"]')).some(
        (audio) => !audio.paused && audio.currentTime > s,
      ),
    seconds,
  );
}

function anyAudioPlaying(page: Page): Promise<boolean> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLAudioElement>('[data-testid="voice-audio"]')).some((a) => !a.paused),
  );
}

test("a live reply is spoken while it streams, autoplays, seeks, and a reload does not play it again", async () => {
  // A browser that allows autoplay, as after the user has interacted with the site before.
  const browser: Browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"],
  });
  try {
    const page = await browser.newPage();
    await openApp(page);
    await ask(page, "Please speak to me");
    const reply = page.locator('article[data-role="assistant"]').last();

    // The first clip is announced (its audio element exists) while the text is still arriving.
    const firstClip = page.locator('[data-testid="voice-audio"][data-seq="1"]');
    await firstClip.waitFor({ state: "attached" });
    const textAtFirstClip = await reply.innerText();
    expect(textAtFirstClip).toContain("Here is the first sentence");
    expect(textAtFirstClip).not.toContain(LAST_WORDS);

    // It autoplays: the audio element really plays.
    await expect.poll(() => playingPast(page, 0.3), { timeout: 15_000 }).toBe(true);
    const player = page.getByTestId("voice-player");
    await expect(player.getByTestId("voice-toggle")).toHaveAttribute("aria-label", "Pause");
    await expect(page.getByTestId("voice-play-prompt")).toHaveCount(0);

    // The whole reply: four clips, each with its transcript.
    await expect(reply).toContainText(LAST_WORDS);
    await expect(player.getByTestId("voice-audio")).toHaveCount(4);
    await expect(player.getByTestId("voice-transcript")).toHaveCount(4);
    await expect(player.getByTestId("voice-transcript").first()).toContainText("Here is the first sentence of a spoken reply.");
    await expect(player.getByTestId("voice-time")).toHaveText(/^\d+:\d\d \/ 0:(0[5-9]|[1-5]\d)$/);

    // Seeking to near the end of the whole reply plays the last clip from inside it.
    const total = Number(await player.getByTestId("voice-seek").getAttribute("max"));
    expect(total).toBeGreaterThan(5000);
    await player.getByTestId("voice-seek").evaluate((input: HTMLInputElement, at) => {
      input.value = String(at);
      input.dispatchEvent(new Event("input", { bubbles: true }));
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }, total - 1500);
    await expect
      .poll(() =>
        page.evaluate(() => {
          const last = document.querySelector<HTMLAudioElement>('[data-testid="voice-audio"][data-seq="4"]');
          return !!last && !last.paused && last.currentTime > 0;
        }),
      )
      .toBe(true);
    const earlier = await page.evaluate(() =>
      Array.from(document.querySelectorAll<HTMLAudioElement>('[data-testid="voice-audio"]'))
        .filter((a) => a.dataset.seq !== "4")
        .every((a) => a.paused),
    );
    expect(earlier).toBe(true);

    // Pause stops it.
    await player.getByTestId("voice-toggle").click();
    await expect(player.getByTestId("voice-toggle")).toHaveAttribute("aria-label", "Play");
    expect(await anyAudioPlaying(page)).toBe(false);

    // Reloading shows the reply with its player and transcript from history, and plays nothing.
    await page.reload();
    await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
    await expect(page.getByTestId("voice-transcript")).toHaveCount(4);
    await page.waitForTimeout(2000);
    expect(await anyAudioPlaying(page)).toBe(false);
    await expect(page.getByTestId("voice-play-prompt")).toHaveCount(0);
    // …until asked to.
    await page.getByTestId("voice-toggle").click();
    await expect.poll(() => playingPast(page, 0.2), { timeout: 15_000 }).toBe(true);
  } finally {
    await browser.close();
  }
});

test("where the browser blocks autoplay, a Play prompt starts the reply", async () => {
  // Headless Chromium allows autoplay unless told otherwise, and every Playwright action counts
  // as a user gesture; so the policy that needs a fresh gesture for sound is named here, and
  // the fake model starts answering only after seven quiet seconds (the page is not touched
  // meanwhile), by which time the gesture that sent the message has expired.
  const browser: Browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--autoplay-policy=user-gesture-required"],
  });
  try {
    const page = await browser.newPage();
    await openApp(page);
    await ask(page, "Speak later, please");
    await page.waitForTimeout(10_000);
    await expect(page.locator('article[data-role="assistant"]').last()).toContainText("Here is the first");
    const prompt = page.getByTestId("voice-play-prompt");
    await expect(prompt).toBeVisible();
    await expect(prompt).toHaveText("Play");
    expect(await anyAudioPlaying(page)).toBe(false);
    // A click is the user's gesture: now it plays.
    await prompt.click();
    await expect.poll(() => playingPast(page, 0.3), { timeout: 15_000 }).toBe(true);
    await expect(prompt).toHaveCount(0);
  } finally {
    await browser.close();
  }
});

test("voice settings are saved per user: with voice off a reply has no player", async ({ page }) => {
  await openApp(page);
  await page.getByTestId("voice-settings-button").click();
  await expect(page.getByTestId("voice-voice")).toHaveValue("en-us");
  await page.getByTestId("voice-enabled").uncheck();
  await page.getByTestId("voice-save").click();
  await expect(page.getByTestId("voice-settings")).toContainText("Saved.");
  await page.reload();
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
  await page.getByTestId("voice-settings-button").click();
  await expect(page.getByTestId("voice-enabled")).not.toBeChecked();
  await ask(page, "Speak without a voice");
  await expect(page.locator('article[data-role="assistant"]').last()).toContainText(LAST_WORDS);
  await expect(page.getByTestId("voice-player")).toHaveCount(0);
});
