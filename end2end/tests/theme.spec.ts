// Dark mode and tap targets: every page readable in light and dark (axe's color-contrast rule),
// the theme follows the system by default and a chosen one is remembered for the user (across a
// reload and on another device, in the server's first HTML), and on a phone every control is at
// least 44 x 44 px.
import AxeBuilder from "@axe-core/playwright";
import { Browser, Page, expect, test } from "@playwright/test";
import { PASSWORD, signUp, uniqueEmail } from "./accounts";
import { JarvisServer } from "./server";

let server: JarvisServer;

test.beforeAll(async () => {
  server = await JarvisServer.launch();
});

test.afterAll(async () => {
  await server?.dispose();
});

const SCHEMES = ["light", "dark"] as const;

/** Waits until no colour transition is under way (axe reads the colours as they are now). */
async function settled(page: Page) {
  await page.waitForFunction(() =>
    document.getAnimations().every((animation) => !(animation instanceof CSSTransition) || animation.playState !== "running"),
  );
}

/** axe's color-contrast rule on the page as it is, in the light and the dark system scheme. */
async function readableInBothSchemes(page: Page, what: string) {
  for (const colorScheme of SCHEMES) {
    await page.emulateMedia({ colorScheme });
    await settled(page);
    const results = await new AxeBuilder({ page }).withRules(["color-contrast"]).analyze();
    const failures = results.violations.flatMap((violation) =>
      violation.nodes.map((node) => `${node.target.join(" ")}: ${node.failureSummary}`),
    );
    expect(failures, `${what}, ${colorScheme}`).toEqual([]);
  }
  await page.emulateMedia({ colorScheme: null });
}

/** The page's background and text colours as sRGB, and the contrast ratio between them. */
async function pageColours(page: Page) {
  return page.evaluate(() => {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 1;
    const context = canvas.getContext("2d", { willReadFrequently: true })!;
    const rgb = (colour: string) => {
      context.clearRect(0, 0, 1, 1);
      context.fillStyle = colour;
      context.fillRect(0, 0, 1, 1);
      return Array.from(context.getImageData(0, 0, 1, 1).data.slice(0, 3));
    };
    const luminance = ([r, g, b]: number[]) => {
      const [R, G, B] = [r, g, b].map((v) => {
        const c = v / 255;
        return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * R + 0.7152 * G + 0.0722 * B;
    };
    const style = getComputedStyle(document.body);
    const background = luminance(rgb(style.backgroundColor));
    const text = luminance(rgb(style.color));
    const [light, dark] = background > text ? [background, text] : [text, background];
    return { background, text, contrast: (light + 0.05) / (dark + 0.05) };
  });
}

async function expectDark(page: Page) {
  const colours = await pageColours(page);
  expect(colours.background, "a dark background").toBeLessThan(0.05);
  expect(colours.text, "light text").toBeGreaterThan(0.6);
  expect(colours.contrast).toBeGreaterThanOrEqual(7);
}

async function expectLight(page: Page) {
  const colours = await pageColours(page);
  expect(colours.background, "a light background").toBeGreaterThan(0.8);
  expect(colours.text, "dark text").toBeLessThan(0.05);
  expect(colours.contrast).toBeGreaterThanOrEqual(7);
}

async function openApp(page: Page, email?: string) {
  await signUp(page.request, server.baseUrl, email);
  await page.goto(`${server.baseUrl}/app`);
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
}

async function send(page: Page, text: string) {
  await page.getByLabel("Message").fill(text);
  await page.getByLabel("Message").press("Enter");
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
}

async function logIn(browser: Browser, email: string, options: { javaScriptEnabled?: boolean } = {}) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  const loggedIn = await page.request.post(`${server.baseUrl}/login`, {
    form: { email, password: PASSWORD },
    headers: { origin: server.baseUrl },
    maxRedirects: 0,
  });
  expect(loggedIn.headers()["location"]).toBe("/app");
  return { context, page };
}

test("public pages are readable in light and dark", async ({ page }) => {
  for (const path of ["/", "/login", "/register", "/pricing"]) {
    await page.goto(`${server.baseUrl}${path}`);
    await readableInBothSchemes(page, path);
  }
});

test("the app, a reply with code, a document's view, editor and diff, and settings are readable in light and dark", async ({ page }) => {
  await openApp(page);
  await readableInBothSchemes(page, "empty app");

  await send(page, "Show me this:\n```rust\nfn main() {\n    let answer = 42; // the answer\n    println!(\"{answer}\");\n}\n```");
  const reply = page.locator('article[data-role="assistant"]').last();
  await expect(reply.locator("pre")).toContainText("let answer = 42;");
  await readableInBothSchemes(page, "chat with a code block");

  // A document, edited once by the user, so that its history has a diff.
  await send(page, "Please save a note about our trip");
  const panel = page.getByTestId("documents-panel");
  await panel.getByTestId("document-row").filter({ hasText: "Trip notes" }).click();
  await expect(page.getByTestId("document-view").locator("h1")).toHaveText("Trip notes");
  await readableInBothSchemes(page, "document view");

  await page.getByRole("tab", { name: "Edit" }).click();
  const editor = page.getByLabel("Document text");
  await editor.fill("# Trip notes\n\n- Pack the tent\n- Buy snacks\n- Call grandma\n");
  await readableInBothSchemes(page, "document editor");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByTestId("document-meta")).toContainText("version 2");

  await page.getByRole("tab", { name: "History" }).click();
  const diff = page.getByTestId("diff");
  await expect(diff.locator('[data-change="added"]')).toHaveText(/Call grandma/);
  await readableInBothSchemes(page, "diff view");

  await page.goto(`${server.baseUrl}/settings`);
  await expect(page.getByRole("radiogroup", { name: "Theme" })).toBeVisible();
  await readableInBothSchemes(page, "settings");
});

test("System follows the device's colour scheme", async ({ page }) => {
  await openApp(page);
  await expect(page.locator("html")).not.toHaveAttribute("data-theme", /.*/);
  await page.emulateMedia({ colorScheme: "dark" });
  await expectDark(page);
  await page.emulateMedia({ colorScheme: "light" });
  await expectLight(page);
});

test("choosing Dark applies at once, survives a reload and reaches a new browser for the same user", async ({ page, browser }) => {
  const email = uniqueEmail();
  await openApp(page, email);
  await page.emulateMedia({ colorScheme: "light" });
  await expectLight(page);

  await page.getByRole("button", { name: "Theme" }).click();
  await page.getByRole("radio", { name: "Dark" }).check();
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  await settled(page);
  await expectDark(page);

  // Dark wins over the light system setting, after a reload too.
  await page.reload();
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
  await expectDark(page);
  await page.getByRole("button", { name: "Theme" }).click();
  await expect(page.getByRole("radio", { name: "Dark" })).toBeChecked();

  // Another browser, signed in as the same user, with JavaScript off: the server's own HTML is
  // dark (so nothing flashes light before the app loads).
  const other = await logIn(browser, email, { javaScriptEnabled: false });
  await other.page.emulateMedia({ colorScheme: "light" });
  await other.page.goto(`${server.baseUrl}/app`);
  await expect(other.page.locator("html")).toHaveAttribute("data-theme", "dark");
  await expectDark(other.page);
  // Its pages seen signed out keep the theme too (the server gave that browser the cookie).
  await other.page.goto(`${server.baseUrl}/pricing`);
  await expect(other.page.locator("html")).toHaveAttribute("data-theme", "dark");
  await other.context.close();

  // Settings offers the same choice; Light there applies in the other theme direction.
  await page.goto(`${server.baseUrl}/settings`);
  const group = page.getByRole("radiogroup", { name: "Theme" });
  await expect(group.getByRole("radio", { name: "Dark" })).toBeChecked();
  // Hydrated (the Connections buttons wait for it): a choice before that would not apply at once.
  await expect(page.getByRole("button", { name: "Create token" })).toBeEnabled();
  await page.emulateMedia({ colorScheme: "dark" });
  await group.getByRole("radio", { name: "Light" }).check();
  await expect(page.locator("html")).toHaveAttribute("data-theme", "light");
  await settled(page);
  await expectLight(page);
  await page.reload();
  await expect(page.locator("html")).toHaveAttribute("data-theme", "light");
  await expectLight(page);
});

test("the header's Theme menu closes on Esc, on a click elsewhere and when the focus leaves it", async ({ page }) => {
  await openApp(page, uniqueEmail());
  const button = page.getByRole("button", { name: "Theme" });
  const choices = page.getByRole("radiogroup", { name: "Theme" });

  await button.click();
  await expect(choices).toBeVisible();
  await page.getByRole("radio", { name: "Dark" }).check();
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  await page.keyboard.press("Escape");
  await expect(choices).toBeHidden();
  await expect(button).toBeFocused();

  await button.click();
  await expect(choices).toBeVisible();
  await page.getByLabel("Message").click();
  await expect(choices).toBeHidden();
  await expect(page.getByLabel("Message")).toBeFocused();

  await button.focus();
  await page.keyboard.press("Enter");
  await expect(choices).toBeVisible();
  await page.keyboard.press("Control+k");
  await expect(page.getByRole("combobox", { name: "Search conversations" })).toBeFocused();
  await expect(choices).toBeHidden();
});

test("on a phone every control of the app is at least 44 x 44 px, the list's rename and delete too", async ({ browser }) => {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
    deviceScaleFactor: 3,
  });
  const page = await context.newPage();
  await openApp(page);
  expect(await page.evaluate(() => matchMedia("(pointer: coarse)").matches), "a touch screen").toBe(true);
  await send(page, "Hello from the phone");
  await expect(page.locator('article[data-role="assistant"]').last()).toContainText("Hello! You said");
  // Once the reply has ended (a message sent while it runs is held back).
  await expect(page.locator('article[data-role="assistant"]').last().locator(".markdown")).toHaveText(
    "Hello! You said: Hello from the phone",
  );
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
  await send(page, "Please save a note about our trip");
  await expect(page.getByTestId("document-card")).toBeVisible();

  const tooSmall = async () =>
    page.evaluate(() =>
      // Every control and link, but links inside a reply's text (inline, as WCAG exempts them) and
      // the skip link, which is off screen until it has the focus.
      Array.from(document.querySelectorAll<HTMLElement>("button, summary, select, [role=button], a:not(.markdown a):not(.sr-only)"))
        .filter((element) => element.getClientRects().length > 0 && getComputedStyle(element).visibility !== "hidden")
        .map((element) => ({ element, box: element.getBoundingClientRect() }))
        .filter(({ box }) => box.width > 0 && (box.width < 44 || box.height < 44))
        .map(({ element, box }) => `${element.getAttribute("aria-label") ?? element.textContent?.trim()}: ${Math.round(box.width)}x${Math.round(box.height)}`),
    );
  expect(await tooSmall(), "the chat on a phone").toEqual([]);
  // Nothing runs off the right edge: the chat's controls wrap instead.
  const overflowing = await page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>("button, select, label, a, [role=button]"))
      .filter((element) => element.getClientRects().length > 0 && element.getBoundingClientRect().right > innerWidth + 1)
      .map((element) => `${element.getAttribute("aria-label") ?? element.textContent?.trim()}: right ${Math.round(element.getBoundingClientRect().right)}`),
  );
  expect(overflowing, "controls past the screen's right edge").toEqual([]);
  expect(await page.evaluate(() => document.documentElement.scrollWidth), "the page's width").toBeLessThanOrEqual(390);

  await page.getByRole("tab", { name: "Conversations" }).click();
  const rename = page.getByRole("button", { name: /^Rename / }).first();
  const remove = page.getByRole("button", { name: /^Delete / }).first();
  await expect(rename).toBeVisible();
  const renameBox = (await rename.boundingBox())!;
  const deleteBox = (await remove.boundingBox())!;
  for (const box of [renameBox, deleteBox]) {
    expect(box.width).toBeGreaterThanOrEqual(44);
    expect(box.height).toBeGreaterThanOrEqual(44);
  }
  // Side by side, but not overlapping: a finger hits one or the other.
  expect(deleteBox.x).toBeGreaterThanOrEqual(renameBox.x + renameBox.width);
  expect(await tooSmall(), "the conversation list on a phone").toEqual([]);

  await page.getByRole("tab", { name: "Documents" }).click();
  expect(await tooSmall(), "the documents on a phone").toEqual([]);
  await page.getByTestId("document-row").first().click();
  await expect(page.getByTestId("document-title")).toHaveText("Trip notes");
  expect(await tooSmall(), "an open document on a phone").toEqual([]);
  await page.getByRole("tab", { name: "History" }).click();
  await expect(page.getByTestId("version-row")).toHaveCount(1);
  expect(await tooSmall(), "a document's history on a phone").toEqual([]);
  await context.close();
});
