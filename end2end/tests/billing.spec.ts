import { Page, expect, test } from "@playwright/test";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { signUp } from "./accounts";
import { JarvisServer } from "./server";

// Billing end to end against the project's fake Stripe: its hosted Checkout page, its signed
// webhooks, and its test controls for a failed payment.

let server: JarvisServer;

const PRO_PRICE = "price_e2e_pro";

test.beforeAll(async () => {
  const plans = join(tmpdir(), `jarvis-e2e-plans-${randomUUID()}.json`);
  writeFileSync(
    plans,
    JSON.stringify({
      plans: [
        { id: "free", name: "Free", price_label: "Free", messages_per_day: 2, voice: false },
        { id: "pro", name: "Pro", price_id: PRO_PRICE, price_label: "$20 / month", messages_per_day: 100 },
      ],
      default_plan: "free",
    }),
  );
  server = await JarvisServer.launch({
    env: { JARVIS_PLANS_FILE: plans, JARVIS_VOICE_ENGINE: "off" },
    stripe: { prices: [{ id: PRO_PRICE, productName: "Jarvis Pro", unitAmount: 2000 }] },
  });
});

test.afterAll(async () => {
  await server?.dispose();
});

function lastReply(page: Page) {
  return page.locator('article[data-role="assistant"]').last();
}

async function ask(page: Page, text: string) {
  const composer = page.getByLabel("Message");
  await composer.fill(text);
  await composer.press("Enter");
}

/** Reloads `path` until `check` passes: the plan changes when Stripe's webhook has been applied. */
async function reloadUntil(page: Page, path: string, check: () => Promise<void>) {
  await expect(async () => {
    await page.goto(`${server.baseUrl}${path}`);
    await check();
  }).toPass({ timeout: 20_000, intervals: [250, 500, 1000] });
}

test("a Free user at the daily limit upgrades through Checkout, chats as Pro, and a failed payment ends it", async ({ page }) => {
  const email = await signUp(page.request, server.baseUrl);
  await page.goto(`${server.baseUrl}/app`);
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();

  // Free allows two messages a day.
  await ask(page, "first question");
  await expect(lastReply(page)).toContainText("You said: first question");
  await page.getByRole("button", { name: "New conversation" }).click();
  await ask(page, "second question");
  await expect(lastReply(page)).toContainText("You said: second question");
  await page.getByRole("button", { name: "New conversation" }).click();
  await ask(page, "third question");
  const notice = page.getByRole("alert").filter({ hasText: "messages your Free plan allows today" });
  await expect(notice).toBeVisible();
  // Nothing the user wrote is lost: the refused message is back in the box.
  await expect(page.getByLabel("Message")).toHaveValue("third question");

  await notice.getByRole("link", { name: "See plans and upgrade" }).click();
  await expect(page).toHaveURL(/\/pricing$/);
  await page.getByRole("button", { name: "Upgrade to Pro" }).click();

  // Stripe's (fake) hosted Checkout page.
  await expect(page).toHaveURL(new RegExp(`^${server.stripeUrl}checkout/`));
  await expect(page.getByText("Jarvis Pro")).toBeVisible();
  await page.getByRole("button", { name: "Pay and subscribe" }).click();

  await expect(page).toHaveURL(/\/billing\?checkout=success/);
  await reloadUntil(page, "/billing", async () => {
    await expect(page.getByTestId("current-plan")).toContainText("Pro", { timeout: 1000 });
  });
  await expect(page.getByRole("button", { name: "Manage subscription" })).toBeVisible();

  // Chat works again.
  await page.goto(`${server.baseUrl}/app`);
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
  await ask(page, "fourth question as Pro");
  await expect(lastReply(page)).toContainText("You said: fourth question as Pro");

  // The renewal payment fails: Stripe retries and the app warns...
  const { id: subscription } = (await server.stripeControl(
    "GET",
    `_fake/subscriptions?email=${encodeURIComponent(email)}`,
  )) as { id: string };
  await server.stripeControl("POST", `_fake/subscriptions/${subscription}/fail_payment`);
  await reloadUntil(page, "/app", async () => {
    await expect(page.getByTestId("past-due-banner")).toBeVisible({ timeout: 1000 });
  });
  // ...and when the retries are exhausted Stripe cancels the subscription: back on Free.
  await server.stripeControl("POST", `_fake/subscriptions/${subscription}/status`, "canceled");
  await reloadUntil(page, "/billing", async () => {
    await expect(page.getByTestId("current-plan")).toContainText("Free", { timeout: 1000 });
  });
  await page.goto(`${server.baseUrl}/app`);
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
  await ask(page, "fifth question");
  await expect(page.getByRole("alert").filter({ hasText: "messages your Free plan allows today" })).toBeVisible();
});

test("a plan without voice is told so, instead of being promised spoken replies", async ({ page }) => {
  await signUp(page.request, server.baseUrl);
  await page.goto(`${server.baseUrl}/app`);
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
  const guide = page.getByTestId("first-run");
  await expect(guide).toContainText("on yours, it answers in text");
  await expect(guide).not.toContainText("It answers out loud as it writes");

  await page.getByTestId("voice-settings-button").click();
  const note = page.getByTestId("voice-not-in-plan");
  await expect(note).toContainText("Your plan does not include spoken replies");
  await expect(note.getByRole("link", { name: "See the plans" })).toHaveAttribute("href", "/pricing");
});

test("the pricing page works without JavaScript", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${server.baseUrl}/pricing`);
  await expect(page.getByRole("heading", { name: "Free" })).toBeVisible();
  await expect(page.getByText("$20 / month")).toBeVisible();
  await expect(page.getByRole("link", { name: "Create an account" })).toBeVisible();
  await context.close();
});
