import { expect, test } from "@playwright/test";
import { openApp } from "./accounts";
import { JarvisServer } from "./server";

// In a site built with `--split` (what ./scripts/run, the image and scripts/page-weight build),
// `/app`'s click-to-open parts are wasm chunks fetched when first needed
// (app/src/components/lazy_view.rs). A chunk that cannot be fetched — a dropped connection, or a
// deploy that took an open page's chunks off the server — must be a sentence with "Try again",
// never a stopped app. The browser tests' own site is not split (it has no chunks), so this runs
// only against a split site: JARVIS_SITE_ROOT=target/site-release after `scripts/page-weight`.

let server: JarvisServer;

test.beforeAll(async () => {
  server = await JarvisServer.launch();
});

test.afterAll(async () => {
  await server?.dispose();
});

test("a chunk that cannot be fetched is said, the app keeps working, and Try again loads it", async ({ page }) => {
  const scripts: string[] = [];
  page.on("request", (request) => scripts.push(new URL(request.url()).pathname));
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await openApp(page, server.baseUrl);
  test.skip(!scripts.some((path) => path.includes("/__wasm_split.")), "the site is not split (no chunks to fail)");

  // The voice settings' chunk is unreachable, as after a deploy.
  await page.route("**/pkg/split_voice_settings*", (route) => route.abort("connectionrefused"));
  const button = page.getByTestId("voice-settings-button");
  await button.click();
  const alert = page.getByRole("alert").filter({ hasText: "This part of Jarvis could not be loaded" });
  await expect(alert).toBeVisible();

  // The rest of the app still answers.
  await page.getByLabel("Message").fill("Still there?");
  await page.getByLabel("Message").press("Enter");
  await expect(page.locator('article[data-role="assistant"]').last()).toContainText("Still there?");

  // Back online: Try again loads it.
  await page.unroute("**/pkg/split_voice_settings*");
  await alert.getByRole("button", { name: "Try again" }).click();
  await expect(page.getByTestId("voice-settings")).toBeVisible();
  await expect(page.getByTestId("voice-enabled")).toBeVisible();
  // The chunk loader leaves its refused fetch unhandled (the browser reports "Failed to fetch");
  // nothing else went wrong — no panic ("unreachable"), which would have stopped the app above.
  expect(errors.filter((error) => error !== "Failed to fetch")).toEqual([]);
  expect(errors.length).toBeLessThanOrEqual(1);
});

test("a page whose next page's chunk cannot be fetched loads again instead of stopping", async ({ page }) => {
  const scripts: string[] = [];
  page.on("request", (request) => scripts.push(new URL(request.url()).pathname));
  await page.goto(`${server.baseUrl}/login`);
  await page.waitForLoadState("networkidle");
  test.skip(!scripts.some((path) => path.includes("/__wasm_split.")), "the site is not split (no chunks to fail)");

  // The register page's chunk cannot be fetched once, as after a deploy; then it can.
  let refused = 0;
  await page.route("**/pkg/split___register_route_view_*", (route) =>
    refused++ === 0 ? route.abort("connectionrefused") : route.continue(),
  );
  let loads = 0;
  page.on("load", () => loads++);
  await page.getByRole("link", { name: "Create an account" }).click();

  // Leptos's route loader panicked; the page was loaded again from the server and works.
  await expect.poll(() => loads).toBeGreaterThan(0);
  expect(refused).toBeGreaterThan(0);
  if (new URL(page.url()).pathname === "/login") {
    // Loaded again where it was: the link works now.
    await page.waitForLoadState("networkidle");
    await page.getByRole("link", { name: "Create an account" }).click();
  }
  await expect(page.getByRole("heading", { name: "Create your Jarvis account" })).toBeVisible();
  await page.waitForLoadState("networkidle");
  // Hydrated and alive: the router moves to the log-in page without loading a page.
  const before = loads;
  await page.getByRole("link", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Log in to Jarvis" })).toBeVisible();
  expect(loads).toBe(before);
});
