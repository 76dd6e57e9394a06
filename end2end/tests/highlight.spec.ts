import { Page, expect, test } from "@playwright/test";
import { signUp } from "./accounts";
import { JarvisServer } from "./server";

// Code blocks are highlighted in the browser by the vendored highlight.js (app/src/highlight.rs),
// loaded only when a code block appears, both in a streamed reply and in history after a reload
// (server-rendered, then hydrated).

let server: JarvisServer;

test.beforeAll(async () => {
  server = await JarvisServer.launch();
});

test.afterAll(async () => {
  await server?.dispose();
});

const RUST = ["```rust", "fn f<'a>(x: &'a str) -> &'a str {", "    /* two", "       lines */ x // tail", "}", "```"].join(
  "\n",
);

async function expectHighlighted(page: Page) {
  const block = page.locator('article[data-role="assistant"]').last().locator(".code-block");
  await expect(block.locator(".code-lang")).toHaveText("rust");
  await expect(block.getByRole("button", { name: "Copy" })).toBeVisible();
  const code = block.locator("pre code.hljs");
  await expect(code.locator(".hljs-keyword").first()).toHaveText("fn");
  await expect(code.locator(".hljs-symbol")).toHaveText(["'a", "'a", "'a"]);
  await expect(code.locator(".hljs-comment")).toHaveText(["/* two\n       lines */", "// tail"]);
  // The lifetime is not the start of a string running to the end of the line.
  await expect(code.locator(".hljs-string")).toHaveCount(0);
  // The text itself is unchanged.
  await expect(code).toHaveText(RUST.split("\n").slice(1, -1).join("\n") + "\n");
}

test("a code block in a reply is highlighted when it streams in and after a reload", async ({ page }) => {
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  const scripts: string[] = [];
  page.on("request", (request) => {
    if (request.resourceType() === "script") scripts.push(new URL(request.url()).pathname);
  });

  await signUp(page.request, server.baseUrl);
  await page.goto(`${server.baseUrl}/app`);
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
  // No code on the page yet: the highlighter is not loaded.
  expect(scripts.filter((path) => path.startsWith("/highlight/"))).toEqual([]);

  // The fake model echoes the message, so its reply holds the code block.
  await page.getByLabel("Message").fill(`Here:\n${RUST}`);
  await page.getByLabel("Message").press("Enter");
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
  await expectHighlighted(page);
  expect(scripts.filter((path) => path.startsWith("/highlight/"))).toHaveLength(1);

  await page.reload();
  await expectHighlighted(page);
  expect(problems).toEqual([]);
});
