import { expect, test } from "@playwright/test";
import { JarvisServer } from "./server";

let server: JarvisServer;

test.beforeAll(async () => {
  server = await JarvisServer.launch();
});

test.afterAll(async () => {
  await server?.dispose();
});

test.describe("with JavaScript disabled", () => {
  test.use({ javaScriptEnabled: false });

  test("the landing page is complete: what Jarvis is, what it costs, a way to register", async ({ page }) => {
    const response = await page.goto(server.baseUrl);
    expect(response?.status()).toBe(200);

    await expect(page).toHaveTitle(/Jarvis/);
    await expect(page.getByRole("heading", { level: 1 })).toContainText("Jarvis");
    await expect(page.getByRole("heading", { name: "Pricing" })).toBeVisible();
    await expect(page.getByRole("article", { name: "Free plan" })).toContainText("$0");
    await expect(page.getByRole("article", { name: "Pro plan" })).toContainText("$20");
    await expect(page.getByRole("link", { name: "Create your account" })).toHaveAttribute("href", "/register");

    // Styled by the Tailwind build: the stylesheet loads and applies.
    const cssHref = await page.locator('link[rel="stylesheet"]').first().getAttribute("href");
    const css = await page.request.get(`${server.baseUrl}${cssHref}`);
    expect(css.status()).toBe(200);
    const cta = page.getByRole("link", { name: "Create your account" });
    await expect(cta).toHaveCSS("color", "rgb(255, 255, 255)");
  });
});

test("the landing page has no console errors with JavaScript on", async ({ page }) => {
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));

  await page.goto(server.baseUrl);
  await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
  await page.waitForLoadState("networkidle");

  expect(errors).toEqual([]);
});
