import { Page, expect, test } from "@playwright/test";
import { pdfDocument, pngImage } from "../fixtures/files";
import { openApp } from "./accounts";
import { JarvisServer } from "./server";

// Attachments: images and PDFs attached with the paperclip or dropped on the composer go with
// the message to the model (the fake model says what it received), show on the question, and
// are still there after a reload.

let server: JarvisServer;

test.beforeAll(async () => {
  server = await JarvisServer.launch();
});

test.afterAll(async () => {
  await server?.dispose();
});

function lastReply(page: Page) {
  return page.locator('article[data-role="assistant"]').last();
}

function lastQuestion(page: Page) {
  return page.locator('article[data-role="user"]').last();
}

/** The attachments shown with the last question. */
function lastAttached(page: Page) {
  return page.getByRole("list", { name: "Attached files" }).last();
}

function chips(page: Page) {
  return page.getByRole("list", { name: "Attachments" });
}

/** Attaches files through the paperclip's file chooser. */
async function attach(page: Page, files: { name: string; mimeType: string; buffer: Buffer }[]) {
  const chooser = page.waitForEvent("filechooser");
  await page.getByRole("button", { name: "Attach", exact: true }).click();
  await (await chooser).setFiles(files);
}

/** The width and height of a PNG, from its header. */
function pngSize(bytes: Buffer): [number, number] {
  return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
}

test("an image and a PDF attached with the paperclip reach the model and stay on the question after a reload", async ({ page }) => {
  await openApp(page, server.baseUrl);
  await attach(page, [
    { name: "chart.png", mimeType: "image/png", buffer: pngImage(64, 48) },
    { name: "report.pdf", mimeType: "application/pdf", buffer: pdfDocument("Quarterly report") },
  ]);
  await expect(chips(page).getByText("chart.png", { exact: true })).toBeVisible();
  await expect(chips(page).getByText("report.pdf", { exact: true })).toBeVisible();
  await expect(chips(page).getByRole("progressbar")).toHaveCount(0);

  await page.getByLabel("Message").fill("What are these?");
  await page.getByRole("button", { name: "Send", exact: true }).click();

  const reply = lastReply(page).locator(".markdown");
  await expect(reply).toContainText("I received 1 image (image/png");
  await expect(reply).toContainText("and 1 PDF");
  await expect(reply).toContainText("You said: What are these?");
  await expect(chips(page)).toHaveCount(0);

  for (const when of ["live", "after a reload"]) {
    if (when !== "live") await page.reload();
    const question = lastQuestion(page);
    await expect(question).toContainText("What are these?");
    const attached = lastAttached(page);
    await expect(attached.getByRole("link", { name: /^chart\.png/ })).toBeVisible();
    await expect(attached.getByTestId("message-attachment-image")).toHaveCount(1);
    await expect(attached.getByRole("link", { name: /^report\.pdf/ })).toBeVisible();
  }

  // The links open the stored files, with their sniffed types.
  const pdfHref = await lastAttached(page).getByRole("link", { name: /^report\.pdf/ }).getAttribute("href");
  const pdf = await page.request.get(`${server.baseUrl}${pdfHref}`);
  expect(pdf.status()).toBe(200);
  expect(pdf.headers()["content-type"]).toBe("application/pdf");
  expect((await pdf.body()).subarray(0, 5).toString()).toBe("%PDF-");
});

test("an image dropped on the composer is attached, and a large one is made smaller on the server", async ({ page }) => {
  await openApp(page, server.baseUrl);
  const bytes = [...pngImage(2400, 1600)];
  const dataTransfer = await page.evaluateHandle((bytes) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([new Uint8Array(bytes)], "poster.png", { type: "image/png" }));
    return transfer;
  }, bytes);
  const dropZone = page.getByTestId("chat-drop-zone");
  await dropZone.dispatchEvent("dragenter", { dataTransfer });
  await dropZone.dispatchEvent("dragover", { dataTransfer });
  await expect(page.getByTestId("drop-hint")).toHaveText("Drop files to attach them");
  await dropZone.dispatchEvent("drop", { dataTransfer });
  await expect(page.getByTestId("drop-hint")).toHaveCount(0);
  const composer = page.getByLabel("Message");
  await expect(chips(page).getByText("poster.png", { exact: true })).toBeVisible();
  await expect(chips(page).getByRole("progressbar")).toHaveCount(0);

  await composer.fill("Describe the poster");
  await composer.press("Enter");
  await expect(lastReply(page).locator(".markdown")).toContainText("I received 1 image (image/png");

  const src = await lastAttached(page).getByRole("link", { name: /^poster\.png/ }).getAttribute("href");
  const stored = await page.request.get(`${server.baseUrl}${src}`);
  expect(stored.status()).toBe(200);
  const [width, height] = pngSize(await stored.body());
  expect(Math.max(width, height)).toBeLessThanOrEqual(1568);
  expect(Math.round((width / height) * 10)).toBe(15); // the aspect ratio is kept
});

test("a file Jarvis cannot read gets a sentence and is not sent; removing a chip leaves the others", async ({ page }) => {
  await openApp(page, server.baseUrl);
  await attach(page, [
    { name: "setup.exe", mimeType: "application/octet-stream", buffer: Buffer.concat([Buffer.from("MZ"), Buffer.alloc(200)]) },
  ]);
  const refusal = chips(page).getByTestId("attachment-error");
  await expect(refusal).toContainText(/image|PDF|text/);
  await expect(page.getByRole("button", { name: "Send", exact: true })).toBeDisabled();
  await page.getByRole("button", { name: "Remove setup.exe" }).click();

  await attach(page, [
    { name: "one.png", mimeType: "image/png", buffer: pngImage(20, 20) },
    { name: "two.png", mimeType: "image/png", buffer: pngImage(30, 30) },
  ]);
  await expect(chips(page).getByText("two.png", { exact: true })).toBeVisible();
  await expect(chips(page).getByRole("progressbar")).toHaveCount(0);
  await page.getByRole("button", { name: "Remove one.png" }).click();
  await expect(chips(page).getByText("one.png", { exact: true })).toHaveCount(0);
  await expect(chips(page).getByText("setup.exe", { exact: true })).toHaveCount(0);

  await page.getByLabel("Message").fill("Just this one");
  await page.getByLabel("Message").press("Enter");
  await expect(lastReply(page).locator(".markdown")).toContainText("I received 1 image (image/png");
  await expect(lastAttached(page).getByTestId("message-attachment")).toHaveCount(1);
  await expect(lastAttached(page).getByRole("link", { name: /^two\.png/ })).toBeVisible();
});

test("a file of the library is attached from the book menu, which closes as a menu does", async ({ page }) => {
  await openApp(page, server.baseUrl);
  const book = page.getByRole("button", { name: "Attach from library" });
  const menu = page.locator("#library-attach-menu");

  // Empty: it says how to fill it; a click elsewhere closes it.
  await book.click();
  await expect(menu).toContainText("No uploaded files yet");
  await page.getByLabel("Message").click();
  await expect(menu).toHaveCount(0);
  await expect(book).toHaveAttribute("aria-expanded", "false");

  // A picture uploaded in the Documents panel is offered; Esc closes the menu.
  await page.getByTestId("upload-input").setInputFiles({ name: "garden.png", mimeType: "image/png", buffer: pngImage(32, 24) });
  await expect(page.getByTestId("documents-panel").getByRole("status")).toContainText("1 file uploaded.");
  await book.click();
  await expect(menu.getByRole("button", { name: /garden\.png/ })).toBeVisible();
  await page.keyboard.press("Escape");
  await expect(menu).toHaveCount(0);

  // Picked, it goes with the next message to the model.
  await book.click();
  await menu.getByRole("button", { name: /garden\.png/ }).click();
  await expect(menu).toHaveCount(0);
  await expect(chips(page).getByText("garden.png", { exact: true })).toBeVisible();
  await page.getByLabel("Message").fill("What is in my garden?");
  await page.getByRole("button", { name: "Send", exact: true }).click();
  await expect(lastReply(page).locator(".markdown")).toContainText("I received 1 image (image/png");
  await expect(lastReply(page).locator(".markdown")).toContainText("You said: What is in my garden?");
});
