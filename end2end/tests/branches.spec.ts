import { Page, expect, test } from "@playwright/test";
import { signUp } from "./accounts";
import { JarvisServer } from "./server";

// Edit and regenerate make versions: the earlier one is kept and a click away (‹ 1/2 ›), and
// the version chosen is still shown after a reload.

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

function lastReply(page: Page) {
  return page.locator('article[data-role="assistant"]').last();
}

/** Sends `text` and waits until its reply is complete. */
async function ask(page: Page, text: string) {
  await page.getByLabel("Message").fill(text);
  await page.getByLabel("Message").press("Enter");
  await expect(lastReply(page).locator(".markdown")).toHaveText(`Hello! You said: ${text}`);
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
}

test("an edited message is a new version; the old one and its reply are a click away, also after a reload", async ({ page }) => {
  await openApp(page);
  await ask(page, "Name a colour");

  // Esc closes the editor and changes nothing.
  await page.getByRole("button", { name: "Edit" }).click();
  await page.getByLabel("Edit your message").press("Escape");
  await expect(page.getByLabel("Edit your message")).toHaveCount(0);
  await expect(page.locator('article[data-role="user"]')).toHaveText("Name a colour");
  // The focus is back on Edit, where it was.
  await expect(page.getByRole("button", { name: "Edit" })).toBeFocused();

  await page.getByRole("button", { name: "Edit" }).click();
  const editor = page.getByLabel("Edit your message");
  await expect(editor).toHaveValue("Name a colour");
  await editor.fill("Name a fruit");
  await page.getByTestId("edit-message").getByRole("button", { name: "Send" }).click();
  // The editor is gone: the focus is in the message box, as after Send.
  await expect(page.getByLabel("Message")).toBeFocused();

  await expect(lastReply(page).locator(".markdown")).toHaveText("Hello! You said: Name a fruit");
  await expect(page.locator('article[data-role="user"]')).toHaveText("Name a fruit");
  await expect(page.locator('article[data-role="assistant"]')).toHaveCount(1);
  const switcher = page.getByTestId("version-switcher");
  await expect(switcher).toContainText("2/2");
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();

  await page.getByRole("button", { name: "Previous version" }).click();
  await expect(page.locator('article[data-role="user"]')).toHaveText("Name a colour");
  await expect(lastReply(page).locator(".markdown")).toHaveText("Hello! You said: Name a colour");
  await expect(switcher).toContainText("1/2");
  await expect(page.getByRole("button", { name: "Previous version" })).toBeDisabled();
  // The arrow used is disabled at the first version: the focus is on the other one, so the
  // keyboard can go straight back.
  await expect(page.getByRole("button", { name: "Next version" })).toBeFocused();

  await page.reload();
  await expect(page.locator('article[data-role="user"]')).toHaveText("Name a colour");
  await expect(lastReply(page).locator(".markdown")).toHaveText("Hello! You said: Name a colour");
  await expect(page.getByTestId("version-switcher")).toContainText("1/2");

  await page.getByRole("button", { name: "Next version" }).click();
  await expect(page.locator('article[data-role="user"]')).toHaveText("Name a fruit");
  await expect(lastReply(page).locator(".markdown")).toHaveText("Hello! You said: Name a fruit");
});

test("a regenerated reply is a second version beside the first, and the choice survives a reload", async ({ page }) => {
  await openApp(page);
  await ask(page, "Tell me something");

  await page.getByRole("button", { name: "Regenerate" }).click();
  // Regenerate went with the reply it replaces: the focus is in the message box.
  await expect(page.getByLabel("Message")).toBeFocused();

  const switcher = page.getByTestId("version-switcher");
  await expect(switcher).toContainText("2/2");
  await expect(lastReply(page).locator(".markdown")).toHaveText("Hello! You said: Tell me something");
  await expect(page.locator('article[data-role="user"]')).toHaveCount(1);
  await expect(page.locator('article[data-role="assistant"]')).toHaveCount(1);
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();

  await page.getByRole("button", { name: "Previous version" }).click();
  await expect(switcher).toContainText("1/2");

  await page.reload();
  await expect(page.getByTestId("version-switcher")).toContainText("1/2");
  await expect(page.locator('article[data-role="assistant"]')).toHaveCount(1);
});

test("a search hit on a version not shown opens the conversation on the branch that holds it", async ({ page }) => {
  await openApp(page);
  await ask(page, "Describe a quokka");
  await page.getByRole("button", { name: "Edit" }).click();
  await page.getByLabel("Edit your message").fill("Describe a wombat");
  await page.getByTestId("edit-message").getByRole("button", { name: "Send" }).click();
  await expect(lastReply(page).locator(".markdown")).toHaveText("Hello! You said: Describe a wombat");
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();

  // Leave the conversation, then find the hidden first version by its word.
  await page.getByRole("button", { name: "New conversation" }).click();
  await page.keyboard.press("Control+k");
  const search = page.getByRole("combobox", { name: "Search conversations" });
  await search.fill("quokka");
  const result = page.getByRole("listbox", { name: "Search results" }).getByRole("option").first();
  await expect(result).toContainText("quokka");
  await result.click();

  await expect(page.locator('article[data-role="user"]')).toHaveText("Describe a quokka");
  await expect(page.getByTestId("version-switcher")).toContainText("1/2");
  // The branch shown is kept.
  await page.reload();
  await expect(page.locator('article[data-role="user"]')).toHaveText("Describe a quokka");
});

test("a regeneration reloaded while it is being written is still numbered after the earlier reply", async ({ page }) => {
  await openApp(page);
  await page.getByLabel("Message").fill("Answer slowly");
  await page.getByLabel("Message").press("Enter");
  await expect(lastReply(page).locator(".markdown")).toContainText("word60");
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();

  await page.getByRole("button", { name: "Regenerate" }).click();
  await expect(lastReply(page).locator(".markdown")).toContainText("word3");
  await page.reload();

  // Still being written: the reply is rebuilt from its events, second of two versions.
  await expect(page.getByRole("button", { name: "Stop" })).toBeVisible();
  await expect(page.getByTestId("version-switcher")).toContainText("2/2");
  await expect(lastReply(page).locator(".markdown")).toContainText("word60");
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
  await expect(page.getByTestId("version-switcher")).toContainText("2/2");
  await expect(page.locator('article[data-role="assistant"]')).toHaveCount(1);
  await page.getByRole("button", { name: "Previous version" }).click();
  await expect(page.getByTestId("version-switcher")).toContainText("1/2");
});
