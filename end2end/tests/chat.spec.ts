import { Page, expect, test } from "@playwright/test";
import { PASSWORD, signUp } from "./accounts";
import { JarvisServer } from "./server";

let server: JarvisServer;

test.beforeAll(async () => {
  server = await JarvisServer.launch();
});

test.afterAll(async () => {
  await server?.dispose();
});

const WORDS = Array.from({ length: 60 }, (_, i) => `word${i + 1}`).join(" ");

/** Opens the app as a new user; answers their address. */
async function openApp(page: Page): Promise<string> {
  const email = await signUp(page.request, server.baseUrl);
  await page.goto(`${server.baseUrl}/app`);
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
  return email;
}

function lastReply(page: Page) {
  return page.locator('article[data-role="assistant"]').last();
}

test("a message streams its reply in, and a reload shows the conversation again", async ({ page }) => {
  await openApp(page);
  const composer = page.getByLabel("Message");

  await composer.fill("first line");
  await composer.press("Shift+Enter");
  await composer.pressSequentially("second line");
  await expect(composer).toHaveValue("first line\nsecond line");
  await composer.fill("Hi Jarvis, how are you today?");
  await composer.press("Enter");

  await expect(page.getByRole("button", { name: "Stop" })).toBeVisible();
  await expect(lastReply(page)).toContainText("Hello!");
  // The reply's text (its spoken player sits beside it in the same article).
  await expect(lastReply(page).locator(".markdown")).toHaveText("Hello! You said: Hi Jarvis, how are you today?");
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
  await expect(page).toHaveURL(/\/app\?c=/);
  await expect(page.getByRole("complementary", { name: "Conversations" })).toContainText("Hi Jarvis, how are you today?");
  // A screen reader hears who said what, and the reply once, when it has ended (the list itself is
  // not a live region that would read out every word as it streams).
  await expect(page.getByRole("article", { name: "You said:" })).toHaveText("Hi Jarvis, how are you today?");
  await expect(page.getByRole("article", { name: "Jarvis said:" })).toContainText("Hello!");
  await expect(page.getByTestId("reply-announcement")).toHaveText(
    "Jarvis replied: Hello! You said: Hi Jarvis, how are you today?",
  );
  await expect(page.getByTestId("messages")).not.toHaveAttribute("aria-live");
  await expect(page.getByTestId("reply-announcement")).toHaveAttribute("aria-live", "polite");

  await page.reload();
  await expect(page.locator('article[data-role="user"]')).toHaveText("Hi Jarvis, how are you today?");
  // The reply's text (its spoken player sits beside it in the same article).
  await expect(lastReply(page).locator(".markdown")).toHaveText("Hello! You said: Hi Jarvis, how are you today?");
});

test("Stop ends a reply mid-way and keeps what had arrived", async ({ page }) => {
  await openApp(page);
  await page.getByLabel("Message").fill("Please be slow");
  await page.getByLabel("Message").press("Enter");
  await expect(lastReply(page)).toContainText("word3");

  await page.getByRole("button", { name: "Stop" }).click();

  await expect(lastReply(page).getByRole("alert")).toContainText("Stopped.");
  // The focus is not lost with the Stop button: the box has it, ready for the next message.
  await expect(page.getByLabel("Message")).toBeFocused();
  const kept = await lastReply(page).locator(".markdown").innerText();
  expect(kept).toContain("word3");
  expect(kept).not.toContain("word60");
  await page.reload();
  await expect(lastReply(page)).toContainText(kept.trim());
});

test("the message box grows with its lines and is its first size again once sent", async ({ page }) => {
  await openApp(page);
  const composer = page.getByLabel("Message");
  const height = async () => (await composer.boundingBox())!.height;
  const empty = await height();
  await composer.fill(Array.from({ length: 7 }, (_, i) => `line ${i + 1}`).join("\n"));
  await expect.poll(height).toBeGreaterThan(empty + 40);
  await composer.press("Enter");
  await expect(lastReply(page).locator(".markdown")).toContainText("line 7");
  await expect(composer).toHaveValue("");
  await expect.poll(height).toBe(empty);
});

test("a message longer than the server takes is refused before it goes, and stays in the box", async ({ page }) => {
  await openApp(page);
  const composer = page.getByLabel("Message");
  // Over the socket's frame limit too: sent, it would close the socket at every reconnect.
  const long = `hello ${"x".repeat(300_000)}`;
  await composer.fill(long);
  await composer.press("Enter");
  await expect(page.getByRole("alert").filter({ hasText: "Messages are limited to 32000 characters." })).toBeVisible();
  await expect(composer).toHaveValue(long);
  await expect(page.locator('article[data-role="user"]')).toHaveCount(0);
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
  await composer.fill("A short one");
  await composer.press("Enter");
  await expect(lastReply(page).locator(".markdown")).toHaveText("Hello! You said: A short one");
});

test("a message sent while a reply runs stays in the box with a word why, and goes once the reply ends", async ({ page }) => {
  await openApp(page);
  const composer = page.getByLabel("Message");
  await composer.fill("Please be slow");
  await composer.press("Enter");
  await expect(lastReply(page)).toContainText("word2");

  await composer.fill("And a second question");
  await composer.press("Enter");
  await expect(page.getByRole("alert").filter({ hasText: "Jarvis is still replying" })).toBeVisible();
  await expect(composer).toHaveValue("And a second question");
  await expect(page.locator('article[data-role="user"]')).toHaveCount(1);

  await expect(page.getByRole("button", { name: "Send" })).toBeVisible({ timeout: 15_000 });
  await expect(page.getByRole("alert").filter({ hasText: "Jarvis is still replying" })).toHaveCount(0);
  await composer.press("Enter");
  await expect(lastReply(page).locator(".markdown")).toHaveText("Hello! You said: And a second question");
  await expect(composer).toHaveValue("");
});

test("Back and Forward step between the conversations opened", async ({ page }) => {
  await openApp(page);
  const list = page.getByRole("complementary", { name: "Conversations" });
  const question = page.locator('article[data-role="user"]');
  const converse = async (text: string) => {
    await page.getByLabel("Message").fill(text);
    await page.getByLabel("Message").press("Enter");
    await expect(lastReply(page).locator(".markdown")).toHaveText(`Hello! You said: ${text}`);
    await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
  };
  await converse("About otters");
  const otters = page.url();
  await page.getByRole("button", { name: "New conversation" }).click();
  await expect(page).toHaveURL(/\/app$/);
  await converse("About badgers");
  const badgers = page.url();
  expect(badgers).not.toBe(otters);

  // The new conversation took the place of the empty chat it started from: one step back is
  // the conversation before.
  await page.goBack();
  await expect(page).toHaveURL(otters);
  await expect(question).toHaveText("About otters");
  await page.goForward();
  await expect(page).toHaveURL(badgers);
  await expect(question).toHaveText("About badgers");

  // Picking one from the list is a step too; the same one again is not.
  await list.getByText("About otters").click();
  await expect(question).toHaveText("About otters");
  // The open one is marked as such, for a screen reader too.
  await expect(list.getByRole("button", { name: "About otters", exact: true })).toHaveAttribute("aria-current", "page");
  await expect(list.getByRole("button", { name: "About badgers", exact: true })).not.toHaveAttribute("aria-current");
  await list.getByText("About otters").click();
  await expect(question).toHaveText("About otters");
  await page.goBack();
  await expect(page).toHaveURL(badgers);
  await expect(question).toHaveText("About badgers");
  // What Back shows is what a reload shows, and the chat works there.
  await page.reload();
  await expect(question).toHaveText("About badgers");
  await converse("And about their setts");
  await expect(question).toHaveText(["About badgers", "And about their setts"]);
});

test("Back while the server is away shows that conversation once it is back, and the offline notice goes", async ({ page }) => {
  await openApp(page);
  const question = page.locator('article[data-role="user"]');
  for (const text of ["About herons", "About egrets"]) {
    if (text === "About egrets") await page.getByRole("button", { name: "New conversation" }).click();
    await page.getByLabel("Message").fill(text);
    await page.getByLabel("Message").press("Enter");
    await expect(lastReply(page).locator(".markdown")).toHaveText(`Hello! You said: ${text}`);
    await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
  }

  const stopped = server.stop();
  await expect(page.getByRole("status").filter({ hasText: "Offline — reconnecting…" })).toBeVisible();
  expect(await stopped).toBe(0);
  await page.goBack();
  const unreachable = page.getByRole("alert").filter({ hasText: "The server could not be reached." });
  await expect(unreachable).toBeVisible();
  await server.start();

  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
  await expect(question).toHaveText("About herons");
  await expect(lastReply(page).locator(".markdown")).toHaveText("Hello! You said: About herons");
  await expect(unreachable).toHaveCount(0);
});

test("a tool call shows as a card that Jarvis mode hides", async ({ page }) => {
  await openApp(page);
  await page.getByLabel("Message").fill("What time is it?");
  await page.getByLabel("Message").press("Enter");

  await expect(lastReply(page)).toContainText("The time is");
  const card = page.getByTestId("tool-card");
  await expect(card).toContainText("get_current_time");
  await expect(card).toContainText("Checked the time");

  await page.getByLabel("Jarvis mode").check();
  await expect(card).toHaveCount(0);
  await expect(lastReply(page)).toContainText("The time is");
});

test("a reply survives a server restart mid-stream: every word once, none missing", async ({ page }) => {
  await openApp(page);
  await page.getByLabel("Message").fill("slow story please");
  await page.getByLabel("Message").press("Enter");
  await expect(lastReply(page)).toContainText("word4");

  const stopped = server.stop();
  await expect(page.getByRole("status").filter({ hasText: "Offline — reconnecting…" })).toBeVisible();
  expect(await stopped).toBe(0);
  await server.start();

  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
  await expect(lastReply(page).locator(".markdown")).toHaveText(WORDS, { timeout: 30_000 });
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
});

test("a conversation left while its reply streams and opened again shows the whole reply as it goes on", async ({ page }) => {
  await openApp(page);
  const list = page.getByRole("complementary", { name: "Conversations" });
  await page.getByLabel("Message").fill("Another topic");
  await page.getByLabel("Message").press("Enter");
  await expect(lastReply(page).locator(".markdown")).toHaveText("Hello! You said: Another topic");
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
  await page.getByRole("button", { name: "New conversation" }).click();
  await page.getByLabel("Message").fill("A slow story, please");
  await page.getByLabel("Message").press("Enter");
  await expect(lastReply(page)).toContainText("word5");

  await list.getByText("Another topic").click();
  await expect(lastReply(page).locator(".markdown")).toHaveText("Hello! You said: Another topic");
  await page.waitForTimeout(1000); // the reply goes on meanwhile (one word every 80 ms)
  await list.getByText("A slow story, please").click();

  const words = Array.from({ length: 60 }, (_, index) => `word${index + 1}`).join(" ");
  await expect(lastReply(page).locator(".markdown")).toHaveText(words);
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
  await page.reload();
  await expect(lastReply(page).locator(".markdown")).toHaveText(words);
});

test("two tabs on one conversation: what is sent in one streams in the other, and a deletion empties it", async ({ page }) => {
  await openApp(page);
  await page.getByLabel("Message").fill("Hello from the first tab");
  await page.getByLabel("Message").press("Enter");
  await expect(lastReply(page).locator(".markdown")).toHaveText("Hello! You said: Hello from the first tab");
  await expect(page).toHaveURL(/\/app\?c=/);

  // A second tab of the same browser on the same conversation.
  const other = await page.context().newPage();
  await other.goto(page.url());
  await expect(other.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
  await expect(lastReply(other).locator(".markdown")).toHaveText("Hello! You said: Hello from the first tab");

  // Sent in the first tab: the second shows the question and the reply as it streams, with Stop.
  await page.getByLabel("Message").fill("A slow reply for both tabs");
  await page.getByLabel("Message").press("Enter");
  await expect(other.locator('article[data-role="user"]').last()).toHaveText("A slow reply for both tabs");
  await expect(lastReply(other)).toContainText("word3");
  await expect(other.getByRole("button", { name: "Stop" })).toBeVisible();
  await expect(lastReply(other).locator(".markdown")).toHaveText(WORDS, { timeout: 30_000 });
  await expect(other.getByRole("button", { name: "Send" })).toBeVisible();
  await expect(other.locator('article[data-role="user"]')).toHaveCount(2);

  // Renamed in the second tab: the first tab's list says so.
  const list = (p: Page) => p.getByRole("complementary", { name: "Conversations" });
  other.once("dialog", (dialog) => dialog.accept("Both tabs"));
  await list(other).getByRole("button", { name: /^Rename/ }).first().click();
  await expect(list(page)).toContainText("Both tabs");

  // Deleted in the first tab: the second empties and says why.
  page.once("dialog", (dialog) => dialog.accept());
  await list(page).getByRole("button", { name: /^Delete/ }).first().click();
  await expect(other.getByText("This conversation was deleted in another tab.")).toBeVisible();
  await expect(other.locator('article[data-role="user"]')).toHaveCount(0);
  await expect(list(other)).not.toContainText("Both tabs");
  await other.close();
});

test("renaming or deleting a conversation from the list keeps the keyboard's place", async ({ page }) => {
  await openApp(page);
  const list = page.getByRole("complementary", { name: "Conversations" });
  for (const text of ["First topic", "Second topic"]) {
    await page.getByRole("button", { name: "New conversation" }).click();
    await page.getByLabel("Message").fill(text);
    await page.getByLabel("Message").press("Enter");
    await expect(lastReply(page).locator(".markdown")).toHaveText(`Hello! You said: ${text}`);
  }
  const answers = ["Renamed topic"];
  page.on("dialog", (dialog) => void dialog.accept(answers.shift()));

  // Renamed: its row is drawn anew, and its Rename has the focus again.
  await list.getByRole("button", { name: "Rename First topic" }).focus();
  await page.keyboard.press("Enter");
  await expect(list.getByRole("button", { name: "Rename Renamed topic" })).toBeFocused();

  // Deleted: the focus goes to the conversation beside it, not to the page's body.
  await list.getByRole("button", { name: "Delete Second topic" }).focus();
  await page.keyboard.press("Enter");
  await expect(list.getByRole("button", { name: "Delete Second topic" })).toHaveCount(0);
  await expect(list.getByRole("button", { name: "Renamed topic", exact: true })).toBeFocused();
});

test("an unsent message survives a reload and leaving the page, and goes with logging out", async ({ page }) => {
  const email = await openApp(page);
  const composer = page.getByLabel("Message");
  await composer.fill("A long thought I have not sent yet");
  await page.reload();
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
  await expect(composer).toHaveValue("A long thought I have not sent yet");

  // Away to Settings (a whole page) and Back.
  await page.getByRole("link", { name: "Settings" }).click();
  await expect(page).toHaveURL(/\/settings$/);
  await page.goBack();
  await expect(composer).toHaveValue("A long thought I have not sent yet");

  // Sent, it is no longer kept.
  await composer.press("Enter");
  await expect(lastReply(page).locator(".markdown")).toHaveText("Hello! You said: A long thought I have not sent yet");
  await page.reload();
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
  await expect(composer).toHaveValue("");

  // Logged out, a draft is forgotten: the next person at this tab does not see it.
  await composer.fill("Private words");
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login\?notice=logged_out/);
  await page.waitForLoadState("networkidle");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(`${server.baseUrl}/app`);
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
  await expect(composer).toHaveValue("");
});

test("a conversation that loads slowly after Back was pressed does not take Back's place", async ({ page }) => {
  await openApp(page);
  const list = page.getByRole("complementary", { name: "Conversations" });
  const question = page.locator('article[data-role="user"]');
  for (const text of ["About herons", "About egrets"]) {
    await page.getByRole("button", { name: "New conversation" }).click();
    await page.getByLabel("Message").fill(text);
    await page.getByLabel("Message").press("Enter");
    await expect(lastReply(page).locator(".markdown")).toHaveText(`Hello! You said: ${text}`);
  }
  const egrets = page.url();
  await list.getByText("About herons").click();
  await expect(question).toHaveText("About herons");
  const herons = page.url();

  // Herons again, answered slowly; Back meanwhile goes to egrets, and stays there.
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route("**/api/conversation", async (route) => {
    await held;
    await route.continue();
  });
  await list.getByText("About herons").click();
  await page.goBack();
  await expect(page).toHaveURL(egrets);
  release();
  await expect(question).toHaveText("About egrets");
  await page.waitForLoadState("networkidle");
  await expect(page).toHaveURL(egrets);
  expect(page.url()).not.toBe(herons);
});
