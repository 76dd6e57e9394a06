import { Page, expect, test } from "@playwright/test";
import { pngImage } from "../fixtures/files";
import { openApp } from "./accounts";
import { JarvisServer } from "./server";

// The model picker: two models from a JARVIS_MODELS_FILE, one speaking the Anthropic protocol
// and one the OpenAI-compatible protocol (the project's fakes). The reply comes from the model
// picked, and the choice is remembered for the conversation.

let server: JarvisServer;

test.beforeAll(async () => {
  server = await JarvisServer.launch({ models: true });
});

test.afterAll(async () => {
  await server?.dispose();
});

function lastReply(page: Page) {
  return page.locator('article[data-role="assistant"]').last();
}

async function send(page: Page, text: string) {
  await page.getByLabel("Message").fill(text);
  await page.getByLabel("Message").press("Enter");
}

test("the reply comes from the model picked, and the conversation remembers it after a reload", async ({ page }) => {
  await openApp(page, server.baseUrl);
  const picker = page.getByLabel("Model", { exact: true });
  await expect(picker.locator("option")).toHaveText(["Claude (fake)", "Local model"]);
  await expect(picker).toHaveValue("claude");

  await send(page, "Hi there");
  await expect(lastReply(page).locator(".markdown")).toHaveText("Hello! You said: Hi there");
  await expect(page.getByRole("button", { name: "Send", exact: true })).toBeVisible();

  await picker.selectOption({ label: "Local model" });
  await send(page, "Who answers now?");
  await expect(lastReply(page).locator(".markdown")).toContainText("Reply from llama-3.1-8b-instruct");
  await expect(page.getByRole("button", { name: "Send", exact: true })).toBeVisible();

  await page.reload();
  await expect(page.getByLabel("Model", { exact: true })).toHaveValue("local");
  await expect(page.locator('article[data-role="assistant"]')).toHaveCount(2);
  await expect(lastReply(page).locator(".markdown")).toContainText("Reply from llama-3.1-8b-instruct");
});

test("an image cannot be sent to a model that does not take images", async ({ page }) => {
  await openApp(page, server.baseUrl);
  await page.getByLabel("Model", { exact: true }).selectOption({ label: "Local model" });
  const chooser = page.waitForEvent("filechooser");
  await page.getByRole("button", { name: "Attach", exact: true }).click();
  await (await chooser).setFiles([{ name: "photo.png", mimeType: "image/png", buffer: pngImage(40, 40) }]);
  await expect(page.getByTestId("attachment-error")).toContainText("Local model");
  await page.getByLabel("Message").fill("Look at this");
  await expect(page.getByRole("button", { name: "Send", exact: true })).toBeDisabled();
  await page.getByLabel("Message").press("Enter");
  await expect(page.locator('article[data-role="user"]')).toHaveCount(0);

  // Back on a model that reads images, the same chip can go.
  await page.getByLabel("Model", { exact: true }).selectOption({ label: "Claude (fake)" });
  await expect(page.getByTestId("attachment-error")).toHaveCount(0);
  await page.getByRole("button", { name: "Send", exact: true }).click();
  await expect(page.locator('article[data-role="assistant"]').last().locator(".markdown")).toContainText("I received 1 image");
});
