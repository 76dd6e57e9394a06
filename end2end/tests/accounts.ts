// Account helpers for tests that need a signed-in user but are not about signing in.
import { APIRequestContext, Page, expect } from "@playwright/test";
import { randomUUID } from "node:crypto";
import { linkInMail } from "./mail";

export const PASSWORD = "correct horse battery staple";

export function uniqueEmail(): string {
  return `e2e-${randomUUID().slice(0, 12)}@example.com`;
}

/** Registers, verifies and logs in through the HTTP endpoints; the cookies land in `request`. */
export async function signUp(request: APIRequestContext, baseUrl: string, email = uniqueEmail()): Promise<string> {
  const headers = { origin: baseUrl };
  const registered = await request.post(`${baseUrl}/register`, {
    form: { email, password: PASSWORD },
    headers,
    maxRedirects: 0,
  });
  expect(registered.status()).toBe(303);
  const link = await linkInMail(email, "/verify-email");
  await request.get(link, { maxRedirects: 0 });
  const loggedIn = await request.post(`${baseUrl}/login`, {
    form: { email, password: PASSWORD },
    headers,
    maxRedirects: 0,
  });
  expect(loggedIn.headers()["location"]).toBe("/app");
  return email;
}

/** Signs a new user up and opens the app, waiting until its socket is online. */
export async function openApp(page: Page, baseUrl: string): Promise<string> {
  const email = await signUp(page.request, baseUrl);
  await page.goto(`${baseUrl}/app`);
  await expect(page.getByRole("status").filter({ hasText: /^Online$/ })).toBeVisible();
  return email;
}
