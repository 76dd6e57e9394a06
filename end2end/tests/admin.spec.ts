import { expect, test } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { signUp, PASSWORD } from "./accounts";
import { JarvisServer } from "./server";

// The admin console in a browser: the ordinary 404 page for a non-admin, and for an admin granted
// from the command line, a search, then disabling and enabling a user from the hydrated page (the
// server function answers in place, with a status message), the user's log-in refused meanwhile.

const serverBin = process.env.JARVIS_SERVER_BIN ?? "../target/debug/jarvis-server";
const ownerUrl = process.env.DATABASE_URL ?? "postgres://jarvis:jarvis@127.0.0.1:5432/jarvis";
const appUrl = process.env.DATABASE_APP_URL ?? "postgres://jarvis_app:jarvis_app@127.0.0.1:5432/jarvis";

let server: JarvisServer;

test.beforeAll(async () => {
  server = await JarvisServer.launch({ env: { JARVIS_VOICE_ENGINE: "off" } });
});

test.afterAll(async () => {
  await server?.dispose();
});

function withDatabase(base: string, name: string): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

/** `jarvis-server admin grant <email>` against the test server's database. */
function grantAdmin(email: string): string {
  return execFileSync(serverBin, ["admin", "grant", email], {
    cwd: tmpdir(),
    env: {
      PATH: process.env.PATH ?? "",
      DATABASE_URL: withDatabase(ownerUrl, server.database),
      DATABASE_APP_URL: withDatabase(appUrl, server.database),
    },
  }).toString();
}

test("a non-admin gets the 404 page; an admin searches, disables and enables a user", async ({ page, browser }) => {
  const userContext = await browser.newContext();
  const userPage = await userContext.newPage();
  const userEmail = await signUp(userPage.request, server.baseUrl);
  const response = await userPage.goto(`${server.baseUrl}/admin`);
  expect(response?.status()).toBe(404);
  await expect(userPage.getByRole("heading", { name: "Page not found" })).toBeVisible();

  const adminEmail = await signUp(page.request, server.baseUrl);
  expect(grantAdmin(adminEmail)).toContain(`${adminEmail} is now an admin.`);

  await page.goto(`${server.baseUrl}/admin`);
  await expect(page.getByRole("heading", { name: "Admin", exact: true })).toBeVisible();
  await page.getByLabel("Search by email").fill(userEmail);
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(/\/admin\?q=/);
  await expect(page.getByTestId("admin-user")).toHaveCount(1);
  await expect(page.getByRole("columnheader", { name: "Tokens this month" })).toBeVisible();

  // Hydrated: the action answers in place.
  await page.waitForLoadState("networkidle");
  await page.getByRole("button", { name: `Disable ${userEmail}` }).click();
  await expect(page.getByRole("status").filter({ hasText: `${userEmail} is disabled` })).toBeVisible();
  await expect(page.getByRole("button", { name: `Enable ${userEmail}` })).toBeVisible();

  // The user's session is gone, and logging in again is refused with a sentence.
  await userPage.goto(`${server.baseUrl}/settings`);
  await expect(userPage).toHaveURL(/\/login/);
  await userPage.waitForLoadState("networkidle");
  await userPage.getByLabel("Email").fill(userEmail);
  await userPage.getByLabel("Password").fill(PASSWORD);
  await userPage.getByRole("button", { name: "Log in" }).click();
  await expect(userPage.getByRole("alert")).toContainText("This account has been disabled.");

  await page.getByRole("button", { name: `Enable ${userEmail}` }).click();
  await expect(page.getByRole("status").filter({ hasText: `${userEmail} is enabled again` })).toBeVisible();
  await expect(page.getByRole("row").filter({ hasText: "user.disable" })).toBeVisible();
  await userContext.close();
});
