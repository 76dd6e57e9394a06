// Settings: the display name (saved, shown after a reload and in the app's header, a bad one
// refused with a sentence) and "Download my data" (a real browser download, opened as a zip).
import { expect, test } from "@playwright/test";
import { readFile } from "node:fs/promises";
import { inflateRawSync } from "node:zlib";
import { signUp } from "./accounts";
import { JarvisServer } from "./server";

let server: JarvisServer;

test.beforeAll(async () => {
  server = await JarvisServer.launch();
});

test.afterAll(async () => {
  await server?.dispose();
});

/** The entries of a zip (stored or deflated), by name, read from its central directory. */
function unzip(zip: Buffer): Map<string, Buffer> {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  expect(end).toBeGreaterThanOrEqual(0);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    expect(zip.readUInt32LE(at)).toBe(0x02014b50);
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString("utf8");
    const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    entries.set(name, method === 8 ? inflateRawSync(data) : Buffer.from(data));
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

test("a display name is saved, shown after a reload and in the header; a bad one is refused", async ({ page }) => {
  const email = await signUp(page.request, server.baseUrl);
  await page.goto(`${server.baseUrl}/settings`);
  const profile = page.getByRole("region", { name: "Profile" });
  const field = profile.getByLabel("Display name");
  // Registered without a name: the address's local part.
  await expect(field).toHaveValue(email.split("@")[0]);

  await field.fill("Ada\tLovelace");
  await profile.getByRole("button", { name: "Save" }).click();
  await expect(profile.getByRole("alert")).toHaveText(
    "Your display name cannot contain control characters such as tabs or line breaks.",
  );
  await field.fill("x".repeat(81));
  await profile.getByRole("button", { name: "Save" }).click();
  await expect(profile.getByRole("alert")).toHaveText("Use at most 80 characters for your display name.");

  await field.fill("Ada Lovelace");
  await profile.getByRole("button", { name: "Save" }).click();
  await expect(profile.getByRole("status")).toHaveText("Saved. Jarvis will call you Ada Lovelace.");

  await page.reload();
  await expect(page.getByRole("region", { name: "Profile" }).getByLabel("Display name")).toHaveValue("Ada Lovelace");
  await page.goto(`${server.baseUrl}/app`);
  await expect(page.getByTestId("account-name")).toHaveText("Ada Lovelace");
  await expect(page.getByTestId("account-email")).toHaveText(email);
});

test("Download my data gives a zip of the account and its conversations", async ({ page }) => {
  const email = await signUp(page.request, server.baseUrl);
  await page.goto(`${server.baseUrl}/app`);
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
  await page.getByLabel("Message").fill("Remember the lighthouse");
  await page.getByLabel("Message").press("Enter");
  await expect(page.locator('article[data-role="assistant"]').last()).toContainText("You said: Remember the lighthouse");

  await page.goto(`${server.baseUrl}/settings`);
  const downloading = page.waitForEvent("download");
  await page.getByRole("link", { name: "Download my data" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^jarvis-export-\d{4}-\d{2}-\d{2}\.zip$/);
  const entries = unzip(await readFile(await download.path()));

  const account = JSON.parse(entries.get("account.json")!.toString("utf8"));
  expect(account.email).toBe(email);
  expect(account.display_name).toBe(email.split("@")[0]);
  const names = [...entries.keys()];
  const transcript = names.find((name) => /^conversations\/\d{4}-\d{2}-\d{2}-conversation-.*\.md$/.test(name));
  expect(transcript, names.join(", ")).toBeDefined();
  const markdown = entries.get(transcript!)!.toString("utf8");
  expect(markdown).toContain("## You\n\nRemember the lighthouse");
  expect(markdown).toContain("You said: Remember the lighthouse");
  const json = names.find((name) => /^conversations\/[0-9a-f-]{36}\.json$/.test(name));
  const conversation = JSON.parse(entries.get(json!)!.toString("utf8"));
  expect(conversation.messages.map((message: { role: string }) => message.role)).toEqual(["user", "assistant"]);
  expect(names).toContain("usage.csv");
});

test("each signed-in device's Revoke is named by its device, this one's saying so", async ({ page, browser }) => {
  const email = await signUp(page.request, server.baseUrl);
  // A second device: another browser signed in as the same user.
  const other = await browser.newContext({ userAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15" });
  const loggedIn = await other.request.post(`${server.baseUrl}/login`, {
    form: { email, password: "correct horse battery staple" },
    headers: { origin: server.baseUrl },
    maxRedirects: 0,
  });
  expect(loggedIn.status()).toBe(303);

  await page.goto(`${server.baseUrl}/settings`);
  await expect(page.getByRole("form", { name: /^Revoke session: .*\(this device\)$/ })).toHaveCount(1);
  await expect(page.getByRole("form", { name: /^Revoke session: .*Safari/ })).toHaveCount(1);
  await other.close();
});

test("a refused password change or deletion is said beside its own form, which the page opens at", async ({ page }) => {
  await signUp(page.request, server.baseUrl);
  await page.goto(`${server.baseUrl}/settings`);
  await page.waitForLoadState("networkidle");
  const deletion = page.getByRole("region", { name: "Delete my account" });
  await deletion.getByLabel("Password").fill("not my password at all");
  await deletion.getByRole("button", { name: "Delete my account" }).click();
  const alert = deletion.getByRole("alert");
  await expect(alert).toHaveText("That password is not correct.");
  await expect(alert).toBeFocused();
  await expect(alert).toBeInViewport();
  await expect(page.getByRole("alert")).toHaveCount(1);

  const change = page.getByRole("region", { name: "Change password" });
  await change.getByLabel("Current password").fill("not my password at all");
  await change.getByLabel("New password").fill("a much better passphrase");
  await change.getByRole("button", { name: "Change password" }).click();
  await expect(change.getByRole("alert")).toHaveText("Your current password is not correct. Your password was not changed.");
  await expect(page.getByRole("alert")).toHaveCount(1);
});
