// Speech input in Chromium with a fake microphone that plays REAL speech (espeak-ng, 48 kHz WAV,
// looped by Chromium): dictation fills the box (and the fake transcription API saw a real
// upload); a refused microphone and a silent recording are said in a sentence; the hands-free
// conversation listens, sends what was said, speaks the reply and listens again; speaking over
// Jarvis interrupts it; Esc leaves. The server under test uses its `openai` speech-to-text
// engine against the fake in fake-stt.ts.
import { Browser, Page, chromium, expect, test } from "@playwright/test";
import { silentWav, speechWav } from "../fixtures/speech";
import { signUp } from "./accounts";
import { FakeStt } from "./fake-stt";
import { JarvisServer } from "./server";

let stt: FakeStt;
let server: JarvisServer;

test.beforeAll(async () => {
  stt = await FakeStt.start([""]);
  server = await JarvisServer.launch({ env: stt.serverEnv() });
});

test.afterAll(async () => {
  await server?.dispose();
  await stt?.stop();
});

/** A Chromium whose microphone plays `wav` (in a loop); `allowMicrophone` false refuses it. */
async function launch(wav: string, allowMicrophone = true): Promise<Browser> {
  const args = [
    "--no-sandbox",
    "--disable-gpu",
    // As after earlier visits: a reply may start speaking by itself (see voice.spec.ts).
    "--autoplay-policy=no-user-gesture-required",
    "--use-fake-device-for-media-stream",
    `--use-file-for-fake-audio-capture=${wav}`,
  ];
  args.push(allowMicrophone ? "--use-fake-ui-for-media-stream" : "--deny-permission-prompts");
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args });
}

async function openApp(page: Page) {
  await signUp(page.request, server.baseUrl);
  await page.goto(`${server.baseUrl}/app`);
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
}

/** Keeps every text `selector` shows, in order (read back with `seenTexts`). */
async function recordTexts(page: Page, selector: string) {
  await page.evaluate((selector) => {
    const seen: string[] = [];
    (window as unknown as { seen: string[] }).seen = seen;
    const look = () => {
      const text = document.querySelector(selector)?.textContent ?? "";
      if (text && seen[seen.length - 1] !== text) seen.push(text);
    };
    new MutationObserver(look).observe(document.body, { subtree: true, childList: true, characterData: true });
    look();
  }, selector);
}

function seenTexts(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { seen: string[] }).seen);
}

function anyAudioPlaying(page: Page): Promise<boolean> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLAudioElement>('[data-testid="voice-audio"]')).some((a) => !a.paused),
  );
}

test("Speak records the microphone and puts the transcript in the box, editable and not sent", async () => {
  const sentence = "What time is it in Paris";
  stt.answer(sentence);
  const uploadsBefore = stt.uploads.length;
  const browser = await launch(speechWav(sentence, 0.3, 3));
  try {
    const page = await browser.newPage();
    await openApp(page);
    await page.getByLabel("Message").fill("Quick question:");
    const speak = page.getByRole("button", { name: "Speak", exact: true });
    await expect(speak).toHaveAttribute("aria-pressed", "false");
    await speak.click();
    await expect(speak).toHaveAttribute("aria-pressed", "true");
    await expect(page.getByRole("meter", { name: "Microphone level" })).toBeVisible();
    // The elapsed time counts; by two seconds the whole sentence was heard.
    await expect(page.getByTestId("dictation-status")).toHaveText(/^Recording 0:0[2-9]$/);
    await recordTexts(page, '[data-testid="dictation-status"]');
    await speak.click();

    // The transcript goes after what was typed; nothing is sent.
    await expect(page.getByLabel("Message")).toHaveValue(`Quick question: ${sentence}`);
    await expect(speak).toHaveAttribute("aria-pressed", "false");
    expect(await seenTexts(page)).toContain("Transcribing…");
    await expect(page.locator('article[data-role="user"]')).toHaveCount(0);
    await expect(page.getByTestId("dictation-error")).toHaveCount(0);

    // The fake API received the recording: a real, non-empty WebM/Opus upload.
    expect(stt.uploads.length).toBe(uploadsBefore + 1);
    const upload = stt.uploads[stt.uploads.length - 1];
    expect(upload.contentType).toMatch(/^audio\/webm/);
    expect(upload.bytes).toBeGreaterThan(2_000);
    expect(upload.model.length).toBeGreaterThan(0);

    // The box is still the user's to edit, and Enter sends it.
    await page.getByLabel("Message").press("End");
    await page.getByLabel("Message").pressSequentially("?");
    await page.getByLabel("Message").press("Enter");
    await expect(page.locator('article[data-role="user"]').last()).toContainText(`Quick question: ${sentence}?`);
  } finally {
    await browser.close();
  }
});

test("Space talks when the box is not focused", async () => {
  const sentence = "Save a note called groceries";
  stt.answer(sentence);
  const browser = await launch(speechWav(sentence, 0.3, 3));
  try {
    const page = await browser.newPage();
    await openApp(page);
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press("Space");
    const speak = page.getByRole("button", { name: "Speak", exact: true });
    await expect(speak).toHaveAttribute("aria-pressed", "true");
    await expect(page.getByTestId("dictation-status")).toHaveText(/^Recording 0:0[2-9]$/);
    await page.keyboard.press("Space");
    await expect(page.getByLabel("Message")).toHaveValue(sentence);
  } finally {
    await browser.close();
  }
});

test("a refused microphone is said in a sentence", async () => {
  const uploadsBefore = stt.uploads.length;
  const browser = await launch(speechWav("What time is it in Paris", 0.3, 3), false);
  try {
    const page = await browser.newPage();
    await openApp(page);
    const speak = page.getByRole("button", { name: "Speak", exact: true });
    await speak.click();
    await expect(page.getByRole("alert").filter({ hasText: "Jarvis may not use your microphone" })).toBeVisible();
    await expect(speak).toHaveAttribute("aria-pressed", "false");
    // The conversation says the same.
    await page.getByRole("button", { name: "Conversation", exact: true }).click();
    await expect(page.getByTestId("conversation-error")).toContainText("Jarvis may not use your microphone");
    await expect(page.getByRole("button", { name: "Conversation", exact: true })).toHaveAttribute("aria-pressed", "false");
    expect(stt.uploads.length).toBe(uploadsBefore);
  } finally {
    await browser.close();
  }
});

test("a silent recording is said in a sentence and not uploaded", async () => {
  const uploadsBefore = stt.uploads.length;
  const browser = await launch(silentWav(4));
  try {
    const page = await browser.newPage();
    await openApp(page);
    const speak = page.getByRole("button", { name: "Speak", exact: true });
    await speak.click();
    await expect(page.getByTestId("dictation-status")).toHaveText(/^Recording 0:0[1-9]$/);
    await speak.click();
    await expect(page.getByRole("alert").filter({ hasText: "The recording was silent" })).toBeVisible();
    await expect(page.getByLabel("Message")).toHaveValue("");
    expect(stt.uploads.length).toBe(uploadsBefore);
  } finally {
    await browser.close();
  }
});

test("Conversation listens, sends what was said, speaks the reply, listens again, and Esc leaves", async () => {
  stt.answer("Please speak to me");
  const uploadsBefore = stt.uploads.length;
  // Three seconds of quiet first (time to read "Listening"), then the sentence, then a long quiet.
  const browser = await launch(speechWav("Please speak to me", 3, 40));
  try {
    const page = await browser.newPage();
    await openApp(page);
    const toggle = page.getByRole("button", { name: "Conversation", exact: true });
    await expect(toggle).toHaveAttribute("aria-pressed", "false");
    await toggle.click();
    await expect(toggle).toHaveAttribute("aria-pressed", "true");
    const state = page.getByTestId("conversation-state");
    await expect(state).toHaveAttribute("role", "status");
    await expect(state).toHaveText("Listening");
    await recordTexts(page, '[data-testid="conversation-state"]');
    // The Speak button waits while the conversation holds the microphone.
    await expect(page.getByRole("button", { name: "Speak", exact: true })).toBeDisabled();

    // The utterance ends at the silence and is sent as a message, without a click.
    await expect(page.locator('article[data-role="user"]').last()).toContainText("Please speak to me");
    expect(stt.uploads.length).toBe(uploadsBefore + 1);
    expect(stt.uploads[stt.uploads.length - 1].bytes).toBeGreaterThan(2_000);

    // The reply is spoken…
    await expect(state).toHaveText("Speaking");
    await expect.poll(() => anyAudioPlaying(page)).toBe(true);
    await expect(page.locator('article[data-role="assistant"]').last()).toContainText("the fourth sentence ends the reply.");
    // …and then it listens again.
    await expect(state).toHaveText("Listening", { timeout: 45_000 });
    const seen = await seenTexts(page);
    for (const phase of ["Listening", "Hearing you", "Thinking", "Speaking"]) {
      expect(seen, `${phase} was shown`).toContain(phase);
    }
    expect(seen.indexOf("Hearing you")).toBeLessThan(seen.indexOf("Thinking"));
    expect(seen.indexOf("Thinking")).toBeLessThan(seen.indexOf("Speaking"));

    // Esc leaves the conversation.
    await page.keyboard.press("Escape");
    await expect(toggle).toHaveAttribute("aria-pressed", "false");
    await expect(page.getByTestId("conversation-bar")).toHaveCount(0);
    await expect(page.getByRole("button", { name: "Speak", exact: true })).toBeEnabled();
  } finally {
    await browser.close();
  }
});

test("speaking over a spoken reply stops the audio and sends the new utterance", async () => {
  stt.answer("Please speak to me", "Thank you, that is enough");
  // The sentence comes again about eight seconds later: while the four-sentence reply speaks.
  const browser = await launch(speechWav("Please speak to me", 0.5, 6));
  try {
    const page = await browser.newPage();
    await openApp(page);
    await page.getByRole("button", { name: "Conversation", exact: true }).click();
    const state = page.getByTestId("conversation-state");
    await expect(page.locator('article[data-role="user"]').first()).toContainText("Please speak to me");
    await expect.poll(() => anyAudioPlaying(page), { timeout: 20_000 }).toBe(true);
    await expect(state).toHaveText("Speaking");

    // The next utterance interrupts: the reply's audio stops before its end and the new
    // utterance is the next message.
    await expect(page.locator('article[data-role="user"]').nth(1)).toContainText("Thank you, that is enough", {
      timeout: 30_000,
    });
    const firstReply = page.locator('article[data-role="assistant"]').first();
    const unfinished = await firstReply.evaluate((article) =>
      Array.from(article.querySelectorAll<HTMLAudioElement>('[data-testid="voice-audio"]')).some((audio) => !audio.ended),
    );
    expect(unfinished, "the first reply was cut off, not played to its end").toBe(true);
    await expect(firstReply.getByTestId("voice-player")).toHaveAttribute("data-playing", "false");
  } finally {
    await browser.close();
  }
});

test("speaking while Jarvis is still working on a reply stops the run, which keeps its partial reply", async () => {
  // "speak later": the fake model starts answering only after seven seconds.
  stt.answer("Please speak later", "Never mind, tell me the time");
  const browser = await launch(speechWav("Please speak later", 0.5, 6));
  try {
    const page = await browser.newPage();
    await openApp(page);
    await page.getByRole("button", { name: "Conversation", exact: true }).click();
    await expect(page.locator('article[data-role="user"]').first()).toContainText("Please speak later");
    // The sentence again, while the run waits for the model: the run stops, marked stopped…
    await expect(page.locator('article[data-role="assistant"]').first()).toContainText("Stopped.", { timeout: 30_000 });
    // …and what was said becomes the next message.
    await expect(page.locator('article[data-role="user"]').nth(1)).toContainText("Never mind, tell me the time");
  } finally {
    await browser.close();
  }
});
