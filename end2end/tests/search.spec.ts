import { Page, expect, test } from "@playwright/test";
import { signUp } from "./accounts";
import { holdWasm, hydrated } from "./hydration";
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
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
}

/** Sends `text` and waits for the fake model's whole reply ("Hello! You said: …"). */
async function converse(page: Page, text: string) {
  const composer = page.getByLabel("Message");
  await composer.fill(text);
  await composer.press("Enter");
  await expect(page.locator('article[data-role="assistant"]').last()).toContainText(`You said: ${text}`);
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
}

function searchBox(page: Page) {
  return page.getByRole("combobox", { name: "Search conversations" });
}

function results(page: Page) {
  return page.getByRole("listbox", { name: "Search results" }).getByRole("option");
}

test("Ctrl+K searches every conversation and a result opens its conversation at the message", async ({ page }) => {
  await openApp(page);
  await converse(page, "Tell me how aardvarks dig their burrows");
  await page.getByRole("button", { name: "New conversation" }).click();
  await converse(page, "What do pangolins eat for breakfast?");
  await expect(page.locator('article[data-role="user"]')).toHaveText("What do pangolins eat for breakfast?");

  // From the composer, as from anywhere in the app.
  await page.getByLabel("Message").focus();
  await page.keyboard.press("Control+k");
  await expect(searchBox(page)).toBeFocused();
  // English stemming: "aardvark" finds "aardvarks".
  await page.keyboard.type("aardvark");
  await expect(results(page)).toHaveCount(1);
  const hit = results(page).first();
  await expect(hit).toContainText("Tell me how aardvarks dig their burrows");
  await expect(hit.locator("mark").first()).toHaveText("aardvarks");
  await expect(page.getByRole("listbox", { name: "Search results" })).not.toContainText("pangolins");

  // The keyboard picks it: the best result is selected, Enter opens it.
  await expect(hit).toHaveAttribute("aria-selected", "true");
  await page.keyboard.press("Enter");
  await expect(searchBox(page)).toHaveValue("");
  await expect(results(page)).toHaveCount(0);
  await expect(page.locator('article[data-role="user"]')).toHaveText("Tell me how aardvarks dig their burrows");
  // The matched message is on screen, and marked for a moment.
  const found = page.locator('article[data-found="true"]');
  await expect(found).toContainText("aardvarks");
  await expect(found).toHaveAttribute("id", /^message-[0-9a-f-]{36}$/);
  await expect(found).toBeInViewport();
  // The focus is on it, not lost on the page's body with the results.
  await expect(found).toBeFocused();
  await expect(page).toHaveURL(/\/app\?c=[0-9a-f-]{36}$/);
});

test("the search box takes whatever is typed, moves with the arrows and Esc clears it", async ({ page }) => {
  await openApp(page);
  await converse(page, "Notes about quokka habitats");
  await page.getByRole("button", { name: "New conversation" }).click();
  await converse(page, "More quokka facts please");

  const box = searchBox(page);
  await box.click();
  await box.fill('"&|!:*() quokka');
  await expect(results(page)).toHaveCount(2);
  await box.fill('"&|!:*()');
  await expect(page.getByTestId("search-results").getByRole("status")).toHaveText("No conversations match.");

  await box.fill("quokka");
  await expect(results(page)).toHaveCount(2);
  await expect(results(page).nth(0)).toHaveAttribute("aria-selected", "true");
  await box.press("ArrowDown");
  await expect(results(page).nth(1)).toHaveAttribute("aria-selected", "true");
  await expect(results(page).nth(0)).toHaveAttribute("aria-selected", "false");
  await box.press("ArrowDown");
  await expect(results(page).nth(0)).toHaveAttribute("aria-selected", "true");

  await box.press("Escape");
  await expect(box).toHaveValue("");
  await expect(results(page)).toHaveCount(0);
  await box.press("Escape");
  await expect(box).not.toBeFocused();
  // The focus is back where it was before the box (the message box), not lost on the page.
  await expect(page.getByLabel("Message")).toBeFocused();

  // Too long a query is refused with a sentence, not an error page.
  await page.keyboard.press("Control+k");
  await box.fill("quokka ".repeat(40));
  await expect(page.getByTestId("search-results").getByRole("status")).toHaveText(
    "Search for at most 200 characters.",
  );
});

test("a query typed while the app loads is kept and searched for once it has loaded", async ({ page }) => {
  await openApp(page);
  await converse(page, "Tell me about narwhal tusks");

  const wasm = await holdWasm(page);
  await page.reload({ waitUntil: "domcontentloaded" });
  await wasm.requested;
  await searchBox(page).fill("narwhal");
  wasm.release();
  await hydrated(page, wasm);

  await expect(searchBox(page)).toHaveValue("narwhal");
  await expect(results(page)).toHaveCount(1);
  await expect(results(page).first()).toContainText("Tell me about narwhal tusks");
});
