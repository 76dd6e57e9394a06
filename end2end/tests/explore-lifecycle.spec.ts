import { Page, expect, test } from "@playwright/test";
import { PASSWORD, signUp, uniqueEmail } from "./accounts";
import { linkInMail, mailTo } from "./mail";
import { JarvisServer } from "./server";

let server: JarvisServer;
const S = "/tmp/own/shots2";

test.beforeAll(async () => {
  server = await JarvisServer.launch();
});

test.afterAll(async () => {
  await server?.dispose();
});

function log(...args: unknown[]) {
  console.log("EXPLORE:", ...args);
}

async function texts(page: Page) {
  const alert = await page.getByRole("alert").allTextContents();
  const status = await page.getByRole("status").allTextContents();
  return { url: page.url().replace(server.baseUrl, ""), alert, status };
}

test("register errors and verification link twice", async ({ page }) => {
  const email = uniqueEmail();
  await page.goto(`${server.baseUrl}/register`);
  await page.waitForLoadState("networkidle");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("password123");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForLoadState("networkidle");
  log("common password:", await texts(page));
  await page.screenshot({ path: `${S}/reg-common.png` });
  log("email kept:", await page.getByLabel("Email").inputValue());

  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(email + "x");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForLoadState("networkidle");
  log("contains email:", await texts(page));

  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("aaaaaaaaaaaa");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForLoadState("networkidle");
  log("repetitive:", await texts(page));

  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("x".repeat(5) + "y".repeat(300));
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForLoadState("networkidle");
  log("too long:", await texts(page));

  // Email with spaces / odd
  await page.getByLabel("Email").fill(" " + email.toUpperCase() + " ");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForLoadState("networkidle");
  log("upper email register:", await texts(page));
  log("header email:", await page.getByTestId("account-email").textContent().catch(() => null));

  const link = await linkInMail(email, "/verify-email");
  const mail = await mailTo(email);
  log("verify mail:\n" + mail.split(/\r?\n\r?\n/).slice(1).join("\n\n").slice(0, 1500));
  await page.goto(link);
  await page.waitForLoadState("networkidle");
  log("verify 1 (logged in):", await texts(page));
  await page.goto(link);
  await page.waitForLoadState("networkidle");
  log("verify 2 (logged in):", await texts(page));
  await page.screenshot({ path: `${S}/verify-twice.png` });
  await page.goto(`${server.baseUrl}/verify-email`);
  log("verify no token:", await texts(page));
  // login page while logged in
  await page.goto(`${server.baseUrl}/login`);
  await page.waitForLoadState("networkidle");
  log("login page while logged in:", await texts(page));
  await page.goto(`${server.baseUrl}/register`);
  log("register page while logged in:", await texts(page));

  // Register again with same address
  const ctx2 = await page.context().browser()!.newContext();
  const p2 = await ctx2.newPage();
  await p2.goto(`${server.baseUrl}/register`);
  await p2.waitForLoadState("networkidle");
  await p2.getByLabel("Email").fill(email);
  await p2.getByLabel("Password").fill("another good passphrase");
  await p2.getByRole("button", { name: "Create account" }).click();
  await p2.waitForLoadState("networkidle");
  log("register taken:", await texts(p2));
  await ctx2.close();
});

test("forgot and reset password, links reused, bogus", async ({ page, browser }) => {
  const email = await signUp(page.request, server.baseUrl);
  // Device B logged in
  const other = await browser.newContext();
  const b = await other.newPage();
  await b.request.post(`${server.baseUrl}/login`, { form: { email, password: PASSWORD }, headers: { origin: server.baseUrl }, maxRedirects: 0 });
  await b.goto(`${server.baseUrl}/app`);
  await expect(b.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();

  await page.context().clearCookies();
  await page.goto(`${server.baseUrl}/login`);
  await page.waitForLoadState("networkidle");
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await page.waitForLoadState("networkidle");
  await page.getByLabel("Email").fill("not-an-email");
  log("forgot field validity", await page.getByLabel("Email").evaluate((e: HTMLInputElement) => e.validationMessage));
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Send reset link" }).click();
  await page.waitForLoadState("networkidle");
  log("forgot sent:", await texts(page));
  const link = await linkInMail(email, "/reset-password");
  log("reset mail:\n" + (await mailTo(email)).split(/\r?\n\r?\n/).slice(1).join("\n\n").slice(0, 800));

  // bogus token page
  await page.goto(`${server.baseUrl}/reset-password?token=bogus`);
  await page.waitForLoadState("networkidle");
  log("bogus reset page opens with:", await texts(page), await page.getByRole("heading").allTextContents());
  await page.getByLabel("New password").fill("a brand new passphrase");
  await page.getByRole("button", { name: "Set new password" }).click();
  await page.waitForLoadState("networkidle");
  log("bogus reset submit:", await texts(page));
  await page.screenshot({ path: `${S}/reset-bogus.png` });
  await page.goto(`${server.baseUrl}/reset-password`);
  await page.waitForLoadState("networkidle");
  log("reset no token:", await texts(page));

  await page.goto(link);
  await page.waitForLoadState("networkidle");
  await page.getByLabel("New password").fill("password123");
  await page.getByRole("button", { name: "Set new password" }).click();
  await page.waitForLoadState("networkidle");
  log("reset common:", await texts(page));
  await page.getByLabel("New password").fill(PASSWORD);
  await page.getByRole("button", { name: "Set new password" }).click();
  await page.waitForLoadState("networkidle");
  log("reset to same as old:", await texts(page));
  if (!page.url().includes("/reset-password")) {
    // request another link
    await page.goto(`${server.baseUrl}/forgot-password`);
    await page.waitForLoadState("networkidle");
    await page.getByLabel("Email").fill(email);
    await page.getByRole("button", { name: "Send reset link" }).click();
    await page.waitForLoadState("networkidle");
    await page.waitForTimeout(500);
    await page.goto(await linkInMail(email, "/reset-password"));
    await page.waitForLoadState("networkidle");
  }
  await page.getByLabel("New password").fill("a brand new passphrase");
  await page.getByRole("button", { name: "Set new password" }).click();
  await page.waitForLoadState("networkidle");
  log("reset ok:", await texts(page));
  // browser back to reset page, submit again
  await page.goBack();
  await page.waitForLoadState("networkidle");
  log("back after reset:", await texts(page));
  await page.goto(link);
  await page.waitForLoadState("networkidle");
  log("used link reopened:", await texts(page));
  await page.getByLabel("New password").fill("yet another passphrase");
  await page.getByRole("button", { name: "Set new password" }).click();
  await page.waitForLoadState("networkidle");
  log("used link submit:", await texts(page));

  // device B
  await b.waitForTimeout(1500);
  log("device B after reset (no reload):", await texts(b));
  await b.screenshot({ path: `${S}/deviceB-after-reset.png` });
  await b.getByLabel("Message").fill("hello after reset");
  await b.getByLabel("Message").press("Enter");
  await b.waitForTimeout(2000);
  log("device B send after reset:", await texts(b));
  await b.screenshot({ path: `${S}/deviceB-send-after-reset.png` });
  await b.reload();
  await b.waitForLoadState("networkidle");
  log("device B reload:", await texts(b));
  await other.close();

  // Rate limit on forgot
  for (let i = 0; i < 5; i++) {
    await page.goto(`${server.baseUrl}/forgot-password`);
    await page.waitForLoadState("networkidle");
    await page.getByLabel("Email").fill(email);
    await page.getByRole("button", { name: "Send reset link" }).click();
    await page.waitForLoadState("networkidle");
  }
  log("forgot after 5 more:", await texts(page));
});

test("login lockout, two tabs logout, change password other device", async ({ page, browser }) => {
  const email = await signUp(page.request, server.baseUrl);
  const ctx = page.context();
  await page.goto(`${server.baseUrl}/app`);
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
  const tab2 = await ctx.newPage();
  await tab2.goto(`${server.baseUrl}/settings`);
  await tab2.waitForLoadState("networkidle");
  // log out in tab 1
  await page.getByRole("button", { name: "Log out" }).click();
  await page.waitForURL(/login/);
  await tab2.waitForTimeout(1500);
  log("tab2 settings after logout in tab1:", await texts(tab2));
  await tab2.getByRole("region", { name: "Profile" }).getByLabel("Display name").fill("New Name");
  await tab2.getByRole("region", { name: "Profile" }).getByRole("button", { name: "Save" }).click();
  await tab2.waitForTimeout(1500);
  log("tab2 save name after logout:", await texts(tab2));
  await tab2.screenshot({ path: `${S}/tab2-save-after-logout.png`, fullPage: true });
  await tab2.getByLabel("Current password").fill(PASSWORD);
  await tab2.getByLabel("New password").fill("another fine passphrase");
  await tab2.getByRole("button", { name: "Change password" }).click();
  await tab2.waitForLoadState("networkidle");
  log("tab2 change password after logout:", await texts(tab2));
  await tab2.close();

  // app tab with another tab logging out
  await page.goto(`${server.baseUrl}/login`);
  await page.waitForLoadState("networkidle");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
  const tab3 = await ctx.newPage();
  await tab3.goto(`${server.baseUrl}/settings`);
  await tab3.waitForLoadState("networkidle");
  await tab3.getByRole("button", { name: "Log out everywhere" }).click();
  await tab3.waitForLoadState("networkidle");
  log("tab3 after logout everywhere:", await texts(tab3));
  await page.waitForTimeout(2000);
  log("app tab after other tab logout everywhere:", await texts(page));
  await page.screenshot({ path: `${S}/app-after-other-tab-logout.png` });
  await page.getByLabel("Message").fill("are you there").catch((e) => log("fill failed", String(e).slice(0, 100)));
  await page.getByLabel("Message").press("Enter").catch(() => {});
  await page.waitForTimeout(2000);
  log("app tab send after logout:", await texts(page));
  await page.screenshot({ path: `${S}/app-send-after-logout.png` });
  // Back button after logout in tab3
  await tab3.goBack();
  await tab3.waitForLoadState("networkidle");
  log("tab3 back after logout everywhere:", await texts(tab3));
  await tab3.screenshot({ path: `${S}/back-after-logout.png` });
  await tab3.close();

  // lockout
  await page.goto(`${server.baseUrl}/login`);
  await page.waitForLoadState("networkidle");
  for (let i = 0; i < 8; i++) {
    await page.getByLabel("Password").fill("wrong password " + i);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForLoadState("networkidle");
    log(`wrong #${i + 1}:`, (await texts(page)).alert);
  }
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForLoadState("networkidle");
  log("correct password while locked:", await texts(page));
  await page.screenshot({ path: `${S}/locked.png` });
  // reload the locked page
  await page.reload();
  log("reload locked page:", await texts(page));
});

test("change password: errors, other device, delete account", async ({ page, browser }) => {
  const email = await signUp(page.request, server.baseUrl);
  const other = await browser.newContext();
  const b = await other.newPage();
  await b.request.post(`${server.baseUrl}/login`, { form: { email, password: PASSWORD }, headers: { origin: server.baseUrl }, maxRedirects: 0 });
  await b.goto(`${server.baseUrl}/app`);
  await expect(b.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();

  await page.goto(`${server.baseUrl}/settings`);
  await page.waitForLoadState("networkidle");
  log("sessions aria:", await page.getByRole("list", { name: "Active sessions" }).ariaSnapshot());
  await page.getByLabel("Current password").fill("wrong current pw");
  await page.getByLabel("New password").fill("another fine passphrase");
  await page.getByRole("button", { name: "Change password" }).click();
  await page.waitForLoadState("networkidle");
  log("wrong current:", await texts(page));
  const focused = await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 120));
  log("focused after wrong current:", focused, "scrollY", await page.evaluate(() => scrollY));
  await page.screenshot({ path: `${S}/settings-wrong-current.png` });
  await page.getByLabel("Current password").fill(PASSWORD);
  await page.getByLabel("New password").fill(PASSWORD);
  await page.getByRole("button", { name: "Change password" }).click();
  await page.waitForLoadState("networkidle");
  log("same:", await texts(page));
  await page.getByLabel("Current password").fill(PASSWORD);
  await page.getByLabel("New password").fill("1234567890");
  await page.getByRole("button", { name: "Change password" }).click();
  await page.waitForLoadState("networkidle");
  log("common new:", await texts(page));
  await page.getByLabel("Current password").fill(PASSWORD);
  await page.getByLabel("New password").fill("another fine passphrase");
  await page.getByRole("button", { name: "Change password" }).click();
  await page.waitForLoadState("networkidle");
  log("changed:", await texts(page));
  log("sessions after:", await page.getByRole("list", { name: "Active sessions" }).ariaSnapshot());
  log("password mail:", (await mailTo(email)).slice(-400));
  await b.waitForTimeout(1500);
  log("device B after change (no reload):", await texts(b));
  await b.screenshot({ path: `${S}/deviceB-after-change.png` });
  await b.reload();
  await b.waitForLoadState("networkidle");
  log("device B reload after change:", await texts(b));

  // F5 / reload after form post: resubmission?
  await page.reload();
  await page.waitForLoadState("networkidle");
  log("reload after change:", await texts(page));

  // Delete account wrong password
  await page.getByRole("region", { name: "Delete my account" }).getByLabel("Password").fill("nope nope nope").catch(async () => {
    await page.locator('form[action="/settings/delete-account"] input[name=password]').fill("nope nope nope");
  });
  await page.getByRole("button", { name: "Delete my account" }).click();
  await page.waitForLoadState("networkidle");
  log("delete wrong pw:", await texts(page));
  log("scrollY after delete wrong:", await page.evaluate(() => scrollY));
  await page.screenshot({ path: `${S}/delete-wrong.png` });

  // device B logs in again, and stays on app; then delete from A
  await b.goto(`${server.baseUrl}/login`);
  await b.waitForLoadState("networkidle");
  await b.getByLabel("Email").fill(email);
  await b.getByLabel("Password").fill("another fine passphrase");
  await b.getByRole("button", { name: "Log in" }).click();
  await expect(b.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();

  await page.locator('form[action="/settings/delete-account"] input[name=password]').fill("another fine passphrase");
  await page.getByRole("button", { name: "Delete my account" }).click();
  await page.waitForLoadState("networkidle");
  log("deleted:", await texts(page));
  await b.waitForTimeout(2000);
  log("device B after delete:", await texts(b));
  await b.screenshot({ path: `${S}/deviceB-after-delete.png` });
  await b.reload();
  await b.waitForLoadState("networkidle");
  log("device B reload after delete:", await texts(b));
  await page.goBack();
  await page.waitForLoadState("networkidle");
  log("back after delete:", await texts(page));
  await page.goto(`${server.baseUrl}/login`);
  await page.waitForLoadState("networkidle");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("another fine passphrase");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForLoadState("networkidle");
  log("login after delete:", await texts(page));
  await other.close();
});
