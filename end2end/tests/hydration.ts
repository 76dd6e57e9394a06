// Holding a page's wasm back, to act on the server-rendered page before it hydrates.
import { Page } from "@playwright/test";

/** Holds the wasm back until `release` is called, so the page stays server-rendered meanwhile. */
export async function holdWasm(
  page: Page,
): Promise<{ release: () => void; requested: Promise<void>; responded: Promise<unknown> }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let requestedResolve!: () => void;
  const requested = new Promise<void>((resolve) => (requestedResolve = resolve));
  await page.route("**/*.wasm", async (route) => {
    requestedResolve();
    await released;
    await route.continue();
  });
  return { release, requested, responded: page.waitForResponse("**/*.wasm") };
}

/** Waits until the page has hydrated: the wasm has been fetched and run (hydration is
 * synchronous once it is instantiated), and the network has been quiet since. */
export async function hydrated(page: Page, wasm: { responded: Promise<unknown> }): Promise<void> {
  await wasm.responded;
  await page.waitForLoadState("networkidle");
}
