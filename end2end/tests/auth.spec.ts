import { Browser, expect, test } from "@playwright/test";
import { PASSWORD, signUp, uniqueEmail } from "./accounts";
import { linkInMail } from "./mail";
import { JarvisServer } from "./server";

let server: JarvisServer;

test.beforeAll(async () => {
  server = await JarvisServer.launch();
});

test.afterAll(async () => {
  await server?.dispose();
});

test("register, verify from the mail, log in, reach the app, log out", async ({ page }) => {
  const email = uniqueEmail();

  await page.goto(`${server.baseUrl}/register`);
  // The page hydrates once its wasm has loaded; a form filled before that can be redrawn empty.
  await page.waitForLoadState("networkidle");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  // Registering signs in: the app asks to confirm the address.
  await expect(page).toHaveURL(`${server.baseUrl}/app`);
  await expect(page.getByTestId("account-email")).toHaveText(email);
  await expect(page.getByText("Confirm your email address to start talking to Jarvis")).toBeVisible();
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login\?notice=logged_out/);

  await page.goto(await linkInMail(email, "/verify-email"));
  await expect(page.getByText("Your email address is verified.")).toBeVisible();

  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(`${server.baseUrl}/app`);
  await expect(page.getByTestId("account-email")).toHaveText(email);
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
  await expect(page.getByText("Confirm your email address")).toHaveCount(0);

  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login\?notice=logged_out/);
  await expect(page.getByText("You are logged out.")).toBeVisible();
  await page.goto(`${server.baseUrl}/app`);
  await expect(page).toHaveURL(/\/login\?next=%2Fapp/);
});

test("a wrong password shows a clear error and keeps the address", async ({ page }) => {
  const email = await signUp(page.request, server.baseUrl);
  await page.context().clearCookies();

  await page.goto(`${server.baseUrl}/login`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("not my password at all");
  await page.getByRole("button", { name: "Log in" }).click();

  await expect(page.getByRole("alert")).toHaveText("Email or password is incorrect.");
  // The focus is on why, not left at the top of the page.
  await expect(page.getByRole("alert")).toBeFocused();
  await expect(page.getByLabel("Email")).toHaveValue(email);
});

test.describe("with JavaScript disabled", () => {
  test.use({ javaScriptEnabled: false });

  test("registering signs in and log-out works", async ({ page }) => {
    const email = uniqueEmail();

    await page.goto(`${server.baseUrl}/register`);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Create account" }).click();

    await expect(page).toHaveURL(`${server.baseUrl}/app`);
    await expect(page.getByTestId("account-email")).toHaveText(email);
    await expect(page.getByText("Confirm your email address to start talking to Jarvis")).toBeVisible();
    await page.getByRole("button", { name: "Log out" }).click();
    await expect(page.getByText("You are logged out.")).toBeVisible();
  });
});

async function signedInPage(browser: Browser) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const email = await signUp(page.request, server.baseUrl);
  return { context, page, email };
}

test("a second user cannot open or act on the first user's pages", async ({ browser }) => {
  const alice = await signedInPage(browser);
  const bob = await signedInPage(browser);

  await alice.page.goto(`${server.baseUrl}/settings`);
  await expect(alice.page.getByTestId("settings-email")).toHaveText(alice.email);
  const aliceSession = await alice.page.locator("[data-session-id]").first().getAttribute("data-session-id");
  expect(aliceSession).toBeTruthy();

  await bob.page.goto(`${server.baseUrl}/settings`);
  await expect(bob.page.getByTestId("settings-email")).toHaveText(bob.email);
  await expect(bob.page.getByText(alice.email)).toHaveCount(0);
  expect(await bob.page.content()).not.toContain(aliceSession!);

  const revoke = await bob.page.request.post(`${server.baseUrl}/settings/sessions/${aliceSession}/revoke`, {
    headers: { origin: server.baseUrl },
    maxRedirects: 0,
  });
  expect(revoke.status()).toBe(404);

  await alice.page.goto(`${server.baseUrl}/app`);
  await expect(alice.page).toHaveURL(`${server.baseUrl}/app`);

  // Someone with no session at all is sent to log in.
  const stranger = await browser.newContext();
  const strangerPage = await stranger.newPage();
  await strangerPage.goto(`${server.baseUrl}/settings`);
  await expect(strangerPage).toHaveURL(/\/login\?next=%2Fsettings/);

  await Promise.all([alice.context.close(), bob.context.close(), stranger.close()]);
});

test("a reset link that is used, expired or made up is said before a password is typed", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(`${server.baseUrl}/reset-password?token=made-up-token`);
  await page.waitForLoadState("networkidle");
  const dead = page.getByTestId("reset-link-dead");
  await expect(dead).toContainText("This link is invalid, expired or was already used.");
  await dead.getByRole("link", { name: "Ask for a new link" }).click();
  await expect(page).toHaveURL(/\/forgot-password$/);
  await expect(page.getByRole("heading", { name: "Reset your password" })).toBeVisible();
  expect(errors, "the page hydrated without an error").toEqual([]);
});
